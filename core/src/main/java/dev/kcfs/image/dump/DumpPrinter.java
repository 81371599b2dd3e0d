package dev.kcfs.image.dump;

import dev.kcfs.image.dump.DumpEscaping.ByteSink;
import dev.kcfs.image.dump.DumpEscaping.Context;
import dev.kcfs.image.erofs.ErofsFormat;
import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.TreeWalker;
import dev.kcfs.tree.Xattr;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes a tree as a composefs dump exactly like {@code composefs-info dump} (docs/format.md, 'Escaping'):
 * depth-first, children sorted bytewise, canonical escaping, hardlinks after their first
 * occurrence printed with {@code @MODE} and the first path as PAYLOAD, xattrs in list order (the
 * image order when the tree came from {@link dev.kcfs.image.erofs.ErofsReader}).
 *
 * <p>What is printed is what the image of the tree holds: directory SIZE is the EROFS directory
 * size the writer produces, directory NLINK is 2 + subdirectories, and PAYLOAD/DIGEST appear only
 * for external files. So printing a tree read from an image reproduces upstream's dump byte for
 * byte, and printing a parsed tree gives the canonical form of its input.
 */
public final class DumpPrinter {
    private static final int FLUSH_AT = 1 << 16;

    private DumpPrinter() {}

    /** Prints {@code root} to {@code out} (buffered internally; {@code out} is flushed, not closed). */
    public static void print(Directory root, OutputStream out) throws IOException {
        ByteSink sink = new ByteSink(FLUSH_AT + 8192);
        TreeWalker.walk(
                root,
                e -> {
                    line(e, sink);
                    if (sink.len >= FLUSH_AT) {
                        out.write(sink.buf, 0, sink.len);
                        sink.len = 0;
                    }
                });
        out.write(sink.buf, 0, sink.len);
        out.flush();
    }

    /** One entry's line, with its {@code \n}. */
    private static void line(TreeWalker.Entry e, ByteSink s) {
        Inode inode = e.inode();
        DumpEscaping.encode(e.path(), Context.PATH, s);
        s.write(' ');
        long size = 0;
        long nlink = inode.stat().nlink();
        long rdev = 0;
        byte[] payload = null;
        byte[] content = null;
        byte[] digest = null;
        if (inode instanceof Directory d) {
            size = ErofsFormat.directorySize(d, e.isRoot());
            nlink = 2 + d.subdirectoryCount();
        } else if (inode instanceof RegularFile f) {
            size = f.size();
            content = f.content();
            if (f.isExternal()) { // the image keeps payload and digest only for external files
                payload = f.payload();
                digest = f.digest() == null ? null : f.digest().bytes();
            }
        } else if (inode instanceof Symlink l) {
            size = l.target().length;
            payload = l.target();
        } else if (inode instanceof DeviceNode dev) {
            rdev = dev.rdev();
        }
        if (!e.isFirstOccurrence()) {
            payload = e.firstPath();
        }
        s.writeUnsignedDecimal(size);
        s.write(' ');
        if (!e.isFirstOccurrence()) {
            s.write('@');
        }
        s.writeOctal(inode.stat().mode());
        s.write(' ');
        s.writeUnsignedDecimal(nlink);
        s.write(' ');
        s.writeUnsignedDecimal(inode.stat().uid());
        s.write(' ');
        s.writeUnsignedDecimal(inode.stat().gid());
        s.write(' ');
        s.writeUnsignedDecimal(rdev);
        s.write(' ');
        s.writeDecimal(inode.stat().mtimeSec());
        s.write('.');
        s.writeUnsignedDecimal(inode.stat().mtimeNsec() & 0xffffffffL);
        s.write(' ');
        optional(payload, Context.PAYLOAD, s);
        s.write(' ');
        optional(content, Context.CONTENT, s);
        s.write(' ');
        if (digest == null) {
            s.write('-');
        } else {
            s.writeHex(digest);
        }
        for (Xattr x : inode.xattrs()) {
            s.write(' ');
            DumpEscaping.encode(x.name(), Context.XATTR, s);
            s.write('=');
            DumpEscaping.encode(x.value(), Context.XATTR, s);
        }
        s.write('\n');
    }

    private static void optional(byte[] v, Context c, ByteSink s) {
        if (v == null
                || v.length == 0) { // an empty value cannot be written; it reads back as unset
            s.write('-');
        } else {
            DumpEscaping.encode(v, c, s);
        }
    }
}
