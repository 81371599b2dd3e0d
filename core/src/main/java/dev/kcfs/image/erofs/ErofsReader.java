package dev.kcfs.image.erofs;

import static dev.kcfs.image.erofs.ErofsFormat.BLOCK_SIZE;
import static dev.kcfs.image.erofs.ErofsFormat.DIRENT_SIZE;

import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Fifo;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Socket;
import dev.kcfs.tree.Stat;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loads a composefs image (ours or upstream's) back into a tree, undoing the writer's rewrite the
 * way {@code composefs-info} does (docs/format.md, 'Tree rewrite' and 'Upstream quirks kcfs keeps'): metacopy and redirect become
 * digest and payload, overlay bookkeeping xattrs are dropped, escaped ones unescaped, escaped
 * whiteouts become 0/0 character devices again, the root stubs and {@code .}/{@code ..} are skipped.
 * An inode reached through several dirents (the same nid) becomes one {@link Inode} object.
 *
 * <p>Every read is bounds-checked: hostile or damaged input gives an {@link ErofsException} naming
 * the image and the problem, never an endless loop or a raw index exception.
 */
public final class ErofsReader {

    /**
     * A loaded image.
     *
     * @param root    the tree
     * @param version composefs format version from the header (write it back with that version)
     * @param flags   composefs header flags ({@link ErofsFormat#FLAG_HAS_ACL})
     * @param inodes  inode count from the superblock
     */
    public record Image(Directory root, int version, int flags, long inodes) {}

    private static final byte[] EMPTY = new byte[0];

    private final ByteBuffer b;
    private final long size;
    private final String name;
    private long metaBase;
    private long xattrBase;
    private long buildTime;
    private int buildTimeNsec;
    private final NidMap byNid = new NidMap();
    private final NidMap dirsSeen = new NidMap();
    private long dirBytesBudget;
    private Stat lastStat;
    private final Raw scratchRaw = new Raw();
    private final List<Xattr> scratchXattrs = new ArrayList<>();
    private final List<Xattr> scratchKept = new ArrayList<>();

    private ErofsReader(ByteBuffer b, String name) {
        this.b = b.order(ByteOrder.LITTLE_ENDIAN);
        this.size = b.limit();
        this.name = name;
        this.dirBytesBudget = size;
    }

    /** Loads the whole image. */
    public static Image read(Path image) throws IOException {
        return read(image, null);
    }

    /**
     * Loads an image; with a non-empty {@code filter} only these top-level names are loaded (like
     * {@code composefs-info --filter}), which is fast for single lookups.
     *
     * @param filter top-level names (bytes, no '/'), or null/empty for everything
     */
    public static Image read(Path image, Set<byte[]> filter) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            long len = ch.size();
            if (len > Integer.MAX_VALUE) {
                throw new ErofsException(
                        "image "
                                + image
                                + ": "
                                + len
                                + " bytes is larger than this reader supports (2 GiB)");
            }
            ByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, len);
            return new ErofsReader(map, image.toString()).load(filter);
        }
    }

    /** Loads an image held in memory; {@code name} is used in error messages. */
    public static Image read(byte[] image, String name, Set<byte[]> filter) throws ErofsException {
        return new ErofsReader(ByteBuffer.wrap(image), name).load(filter);
    }

    // ------------------------------------------------------------------------------------------

    private ErofsException bad(String what) {
        return new ErofsException("image " + name + ": " + what);
    }

    private void need(long off, long n, String what) throws ErofsException {
        need(off, n, what, -1);
    }

    /**
     * Checks that [off, off+n) is inside the file. Messages are only built on failure, so the
     * context travels as a constant plus the nid (-1 for none) instead of a per-inode string.
     */
    private void need(long off, long n, String what, long nid) throws ErofsException {
        if (off < 0 || n < 0 || off + n > size || off + n < off) {
            throw bad(
                    "truncated or corrupt: "
                            + what
                            + (nid >= 0 ? " of inode nid " + nid : "")
                            + " at offset "
                            + off
                            + " (+"
                            + n
                            + " bytes) is outside the "
                            + size
                            + "-byte file");
        }
    }

    private int u8(long off, String what) throws ErofsException {
        return u8(off, what, -1);
    }

    private int u8(long off, String what, long nid) throws ErofsException {
        need(off, 1, what, nid);
        return b.get((int) off) & 0xff;
    }

    private int u16(long off, String what) throws ErofsException {
        return u16(off, what, -1);
    }

    private int u16(long off, String what, long nid) throws ErofsException {
        need(off, 2, what, nid);
        return b.getShort((int) off) & 0xffff;
    }

    private int u32(long off, String what) throws ErofsException {
        return u32(off, what, -1);
    }

    private int u32(long off, String what, long nid) throws ErofsException {
        need(off, 4, what, nid);
        return b.getInt((int) off);
    }

    private long u64(long off, String what, long nid) throws ErofsException {
        need(off, 8, what, nid);
        return b.getLong((int) off);
    }

    private byte[] bytes(long off, int n, String what, long nid) throws ErofsException {
        need(off, n, what, nid);
        byte[] out = new byte[n];
        b.get((int) off, out);
        return out;
    }

    private Image load(Set<byte[]> filterIn) throws ErofsException {
        TreeSet<byte[]> filter = null;
        if (filterIn != null && !filterIn.isEmpty()) {
            filter = new TreeSet<>(Arrays::compareUnsigned);
            for (byte[] f : (Collection<byte[]>) filterIn) {
                for (byte c : f) {
                    if (c == '/' || c == 0) {
                        throw new IllegalArgumentException(
                                "filter names are top-level names without '/' or NUL: '"
                                        + new String(f, java.nio.charset.StandardCharsets.UTF_8)
                                        + "'");
                    }
                }
                filter.add(f);
            }
        }
        if (size < 4 || b.getInt(0) != ErofsFormat.COMPOSEFS_MAGIC) {
            throw bad("not a composefs image (no composefs magic 0xd078629a at offset 0)");
        }
        if (size < ErofsFormat.INODE_AREA_START) {
            throw bad("truncated: " + size + " bytes is shorter than the header and superblock");
        }
        int hdrVersion = u32(ErofsFormat.HDR_VERSION, "header version");
        if (hdrVersion != ErofsFormat.COMPOSEFS_HEADER_VERSION) {
            throw bad("unsupported composefs header version " + hdrVersion);
        }
        int flags = u32(ErofsFormat.HDR_FLAGS, "header flags");
        int version = u32(ErofsFormat.HDR_COMPOSEFS_VERSION, "composefs version");
        if (!ErofsFormat.isSupportedFormatVersion(version)) {
            throw bad("unsupported composefs format version " + Integer.toUnsignedString(version));
        }
        long sb = ErofsFormat.SUPERBLOCK_OFFSET;
        if (u32(sb + ErofsFormat.SB_MAGIC, "superblock") != ErofsFormat.EROFS_MAGIC) {
            throw bad("not a composefs image (no EROFS superblock magic at offset 1024)");
        }
        int blkszbits = u8(sb + ErofsFormat.SB_BLKSZBITS, "superblock");
        if (blkszbits != ErofsFormat.BLOCK_BITS) {
            throw bad("unsupported EROFS block size 2^" + blkszbits + " (composefs uses 4096)");
        }
        int incompat = u32(sb + ErofsFormat.SB_FEATURE_INCOMPAT, "superblock");
        // chunked-file (0x4) is harmless for us; compression and devices are not composefs
        if ((incompat & ~0x4) != 0) {
            throw bad("unsupported EROFS incompatible features 0x" + Integer.toHexString(incompat));
        }
        int rootNid = u16(sb + ErofsFormat.SB_ROOT_NID, "superblock");
        long inodes = u64(sb + ErofsFormat.SB_INOS, "superblock", -1);
        buildTime = u64(sb + ErofsFormat.SB_BUILD_TIME, "superblock", -1);
        buildTimeNsec = u32(sb + ErofsFormat.SB_BUILD_TIME_NSEC, "superblock");
        metaBase = (u32(sb + ErofsFormat.SB_META_BLKADDR, "superblock") & 0xffffffffL) * BLOCK_SIZE;
        xattrBase =
                (u32(sb + ErofsFormat.SB_XATTR_BLKADDR, "superblock") & 0xffffffffL) * BLOCK_SIZE;

        Raw r = raw(rootNid);
        if ((r.mode & FileType.S_IFMT) != FileType.S_IFDIR) {
            throw bad("root inode (nid " + rootNid + ") is not a directory");
        }
        Directory root = new Directory(stat(r), r.xattrs);
        dirsSeen.put(rootNid, root);
        fillDirectory(root, r, 0, filter);
        // directories found below are filled from a work list, not by recursion: the depth of an
        // image must not depend on the reading thread's stack size
        for (PendingDirectory p = pending.pollLast(); p != null; p = pending.pollLast()) {
            fillDirectory(p.dir(), p.raw(), p.depth(), null);
        }
        return new Image(root, version, flags, inodes);
    }

    /** A directory whose inode was read but whose entries are still to be read. */
    private record PendingDirectory(Directory dir, Raw raw, int depth) {}

    private final java.util.ArrayDeque<PendingDirectory> pending = new java.util.ArrayDeque<>();

    /** An inode's fields with its xattrs already converted back. */
    private static final class Raw {
        long nid;
        long off;
        boolean extended;
        int layout;
        int mode;
        long size;
        int iu;
        long uid;
        long gid;
        long nlink;
        long mtime;
        int mtimeNsec;
        long dataOff; // first byte after inode + xattrs (inline tail)
        List<Xattr> xattrs;
        byte[] payload;
        Digest digest;
        boolean whiteout;

        Raw copy() {
            Raw c = new Raw();
            c.nid = nid;
            c.off = off;
            c.extended = extended;
            c.layout = layout;
            c.mode = mode;
            c.size = size;
            c.iu = iu;
            c.uid = uid;
            c.gid = gid;
            c.nlink = nlink;
            c.mtime = mtime;
            c.mtimeNsec = mtimeNsec;
            c.dataOff = dataOff;
            c.xattrs = xattrs;
            c.payload = payload;
            c.digest = digest;
            c.whiteout = whiteout;
            return c;
        }
    }

    private Raw raw(long nid) throws ErofsException {
        return raw(nid, new Raw());
    }

    /** Reads inode {@code nid} into {@code r} (reused for non-directories, which need it only briefly). */
    private Raw raw(long nid, Raw r) throws ErofsException {
        r.payload = null;
        r.digest = null;
        r.whiteout = false;
        r.nid = nid;
        r.off = metaBase + nid * ErofsFormat.SLOT_SIZE;
        if (nid < 0
                || nid > size / ErofsFormat.SLOT_SIZE
                || r.off + ErofsFormat.COMPACT_INODE_SIZE > size
                || r.off < ErofsFormat.INODE_AREA_START) {
            throw bad("inode nid " + nid + " points outside the inode area (offset " + r.off + ")");
        }
        final String w = "inode";
        int format = u16(r.off + ErofsFormat.I_FORMAT, w, nid);
        r.extended = (format & 1) != 0;
        r.layout = (format >> 1) & 7;
        int icount = u16(r.off + ErofsFormat.I_XATTR_ICOUNT, w, nid);
        r.mode = u16(r.off + ErofsFormat.I_MODE, w, nid);
        if (FileType.of(r.mode) == null) {
            throw bad("inode nid " + nid + " has invalid mode 0" + Integer.toOctalString(r.mode));
        }
        r.iu = u32(r.off + ErofsFormat.I_U, w, nid);
        int isz;
        if (r.extended) {
            isz = ErofsFormat.EXTENDED_INODE_SIZE;
            need(r.off, isz, w, nid);
            r.size = u64(r.off + ErofsFormat.IE_SIZE, w, nid);
            r.uid = u32(r.off + ErofsFormat.IE_UID, w, nid) & 0xffffffffL;
            r.gid = u32(r.off + ErofsFormat.IE_GID, w, nid) & 0xffffffffL;
            r.mtime = u64(r.off + ErofsFormat.IE_MTIME, w, nid);
            r.mtimeNsec = u32(r.off + ErofsFormat.IE_MTIME_NSEC, w, nid);
            r.nlink = u32(r.off + ErofsFormat.IE_NLINK, w, nid) & 0xffffffffL;
        } else {
            isz = ErofsFormat.COMPACT_INODE_SIZE;
            r.size = u32(r.off + ErofsFormat.IC_SIZE, w, nid) & 0xffffffffL;
            r.uid = u16(r.off + ErofsFormat.IC_UID, w, nid);
            r.gid = u16(r.off + ErofsFormat.IC_GID, w, nid);
            r.nlink = u16(r.off + ErofsFormat.IC_NLINK, w, nid);
            r.mtime = buildTime;
            r.mtimeNsec = buildTimeNsec;
        }
        long xoff = r.off + isz;
        long xsz = icount == 0 ? 0 : ErofsFormat.XATTR_HEADER_SIZE + 4L * (icount - 1);
        need(xoff, xsz, "xattrs", nid);
        r.dataOff = xoff + xsz;
        r.xattrs = xattrs(r, xoff, xsz);
        return r;
    }

    private List<Xattr> xattrs(Raw r, long off, long xsz) throws ErofsException {
        final long nid = r.nid;
        if (xsz == 0) {
            return List.of();
        }
        int nShared = u8(off + 4, "xattr header", nid);
        long p = off + ErofsFormat.XATTR_HEADER_SIZE;
        long end = off + xsz;
        if (p + 4L * nShared > end) {
            throw bad(
                    "inode nid "
                            + nid
                            + ": "
                            + nShared
                            + " shared xattrs do not fit in its "
                            + xsz
                            + "-byte xattr area");
        }
        // image order, as composefs-info prints it: inline entries first, then the shared ones
        List<Xattr> all = scratchXattrs;
        all.clear();
        long sharedIds = p;
        p += 4L * nShared;
        while (p + ErofsFormat.XATTR_ENTRY_HEADER_SIZE <= end) {
            p += entry(p, end, all, "inline xattr", nid);
        }
        for (int i = 0; i < nShared; i++) {
            long id = u32(sharedIds + 4L * i, "shared xattr ids", nid) & 0xffffffffL;
            long eoff = xattrBase + id * 4;
            entry(eoff, size, all, "shared xattr", nid);
        }
        return undoRewrite(r, all);
    }

    /** Parses one xattr entry at {@code p} (must end by {@code end}); returns its padded size. */
    private int entry(long p, long end, List<Xattr> out, String w, long nid) throws ErofsException {
        int nameLen = u8(p, w, nid);
        int idx = u8(p + 1, w, nid);
        int valueLen = u16(p + 2, w, nid);
        int total =
                ErofsFormat.roundUp(ErofsFormat.XATTR_ENTRY_HEADER_SIZE + nameLen + valueLen, 4);
        if (p + ErofsFormat.XATTR_ENTRY_HEADER_SIZE + nameLen + valueLen > end) {
            throw bad(w + " of inode nid " + nid + " at offset " + p + " runs past its area");
        }
        if (idx >= ErofsFormat.XATTR_PREFIXES.length) {
            throw bad(
                    w
                            + " of inode nid "
                            + nid
                            + " at offset "
                            + p
                            + " has unknown name prefix index "
                            + idx);
        }
        byte[] prefix = idx == 0 ? EMPTY : ErofsFormat.XATTR_PREFIXES[idx];
        byte[] name = new byte[prefix.length + nameLen];
        System.arraycopy(prefix, 0, name, 0, prefix.length);
        need(p + 4, nameLen + valueLen, w, nid);
        b.get((int) p + 4, name, prefix.length, nameLen);
        byte[] value = bytes(p + 4 + nameLen, valueLen, w, nid);
        if (name.length == 0) {
            throw bad(w + " of inode nid " + nid + " at offset " + p + " has an empty name");
        }
        out.add(new Xattr(name, value));
        return total;
    }

    private static boolean is(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }

    private static boolean startsWith(byte[] a, byte[] p) {
        return a.length >= p.length && Arrays.equals(a, 0, p.length, p, 0, p.length);
    }

    /** What composefs-info does to xattrs when loading (docs/format.md, 'Tree rewrite', last paragraph). */
    private List<Xattr> undoRewrite(Raw r, List<Xattr> xs) {
        List<Xattr> out = scratchKept;
        out.clear();
        for (Xattr x : xs) {
            byte[] n = x.name();
            if (startsWith(n, ErofsFormat.TRUSTED_OVERLAY_OVERLAY)) {
                if (is(n, ErofsFormat.XATTR_ESCAPED_WHITEOUT)) {
                    r.whiteout = true;
                    continue;
                }
                if (is(n, ErofsFormat.XATTR_ESCAPED_WHITEOUTS)) {
                    continue;
                }
                byte[] un = new byte[n.length - 8];
                System.arraycopy(ErofsFormat.TRUSTED_OVERLAY, 0, un, 0, 16);
                System.arraycopy(n, 24, un, 16, n.length - 24);
                out.add(new Xattr(un, x.value()));
                continue;
            }
            if (startsWith(n, ErofsFormat.TRUSTED_OVERLAY)) {
                if (is(n, ErofsFormat.XATTR_METACOPY)) {
                    byte[] v = x.value();
                    if (v.length == ErofsFormat.METACOPY_SIZE) {
                        r.digest = new Digest(Arrays.copyOfRange(v, 4, 36));
                    }
                } else if (is(n, ErofsFormat.XATTR_REDIRECT)) {
                    byte[] v = x.value();
                    // upstream over-reads here (docs/format.md, 'Upstream quirks kcfs keeps'); we
                    // strip one '/' and keep the exact length
                    r.payload =
                            v.length > 0 && v[0] == '/' ? Arrays.copyOfRange(v, 1, v.length) : v;
                }
                continue;
            }
            if (is(n, ErofsFormat.XATTR_USER_WHITEOUT) || is(n, ErofsFormat.XATTR_USER_WHITEOUTS)) {
                continue;
            }
            out.add(x);
        }
        return out.isEmpty() ? List.of() : List.copyOf(out);
    }

    private Stat stat(Raw r) {
        Stat s = lastStat; // real trees repeat a few stats across 100k inodes: share the objects
        if (s == null
                || s.mode() != r.mode
                || s.uid() != r.uid
                || s.gid() != r.gid
                || s.nlink() != r.nlink
                || s.mtimeSec() != r.mtime
                || s.mtimeNsec() != r.mtimeNsec) {
            s = new Stat(r.mode, r.uid, r.gid, r.nlink, r.mtime, r.mtimeNsec);
            lastStat = s;
        }
        return s;
    }

    /** File offset of byte {@code pos} of a flat inode's data (blocks, then the inline tail). */
    private long dataOffset(Raw r, long pos) throws ErofsException {
        long blkaddr = r.iu & 0xffffffffL;
        if (r.layout == ErofsFormat.LAYOUT_FLAT_PLAIN) {
            return blkaddr * BLOCK_SIZE + pos;
        }
        long fullBlocks = r.size / BLOCK_SIZE; // the last partial block is inline
        if (r.size % BLOCK_SIZE == 0 && r.size > 0) {
            fullBlocks--; // a whole last block inline (not produced by mkcomposefs, valid EROFS)
        }
        long block = pos / BLOCK_SIZE;
        if (block < fullBlocks) {
            return blkaddr * BLOCK_SIZE + pos;
        }
        return r.dataOff + (pos - fullBlocks * BLOCK_SIZE);
    }

    private void checkFlat(Raw r, String what) throws ErofsException {
        if (r.layout != ErofsFormat.LAYOUT_FLAT_PLAIN
                && r.layout != ErofsFormat.LAYOUT_FLAT_INLINE) {
            throw bad(what + " (nid " + r.nid + ") has unsupported data layout " + r.layout);
        }
        if (r.size < 0 || r.size > size) { // unsigned: a size >= 2^63 is negative here
            throw bad(
                    what
                            + " (nid "
                            + r.nid
                            + ") claims "
                            + Long.toUnsignedString(r.size)
                            + " bytes of data, more than the whole image");
        }
    }

    /** Reads {@code len} data bytes of a flat inode starting at {@code pos} (spanning blocks). */
    private byte[] data(Raw r, long pos, int len, String what) throws ErofsException {
        byte[] out = new byte[len];
        int done = 0;
        while (done < len) {
            long p = pos + done;
            int chunk = (int) Math.min(len - done, BLOCK_SIZE - (p % BLOCK_SIZE));
            long off = dataOffset(r, p);
            need(off, chunk, what, r.nid);
            b.get((int) off, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    private void fillDirectory(Directory dir, Raw r, int depth, Set<byte[]> filter)
            throws ErofsException {
        checkFlat(r, "directory");
        dirBytesBudget -= r.size;
        if (dirBytesBudget < 0) {
            throw bad(
                    "directories hold more dirent bytes than the file has (overlapping or corrupt directory data)");
        }
        long total = r.size;
        for (long blockStart = 0; blockStart < total; blockStart += BLOCK_SIZE) {
            int blockLen = (int) Math.min(BLOCK_SIZE, total - blockStart);
            if (blockLen < DIRENT_SIZE) {
                throw bad(
                        "directory nid "
                                + r.nid
                                + ": dirent block of "
                                + blockLen
                                + " bytes is too short");
            }
            // a dirent block is contiguous in the file (a data block or the inline tail): read in
            // place
            long base = dataOffset(r, blockStart);
            need(base, blockLen, "dirents", r.nid);
            int blk = (int) base;
            int first = u16le(blk + 8);
            if (first % DIRENT_SIZE != 0 || first == 0 || first > blockLen) {
                throw bad(
                        "directory nid "
                                + r.nid
                                + ": bad first name offset "
                                + first
                                + " in dirent block at "
                                + blockStart);
            }
            int count = first / DIRENT_SIZE;
            for (int i = 0; i < count; i++) {
                int rec = i * DIRENT_SIZE;
                long nid = b.getLong(blk + rec);
                int nameoff = u16le(blk + rec + 8);
                int nameEnd;
                if (i + 1 < count) {
                    nameEnd = u16le(blk + rec + 8 + DIRENT_SIZE);
                } else {
                    nameEnd = nameoff;
                    while (nameEnd < blockLen && b.get(blk + nameEnd) != 0) {
                        nameEnd++;
                    }
                }
                if (nameoff < first
                        || nameEnd <= nameoff
                        || nameEnd > blockLen
                        || nameEnd - nameoff > 255) {
                    throw bad(
                            "directory nid "
                                    + r.nid
                                    + ": bad dirent name bounds "
                                    + nameoff
                                    + ".."
                                    + nameEnd
                                    + " in block at "
                                    + blockStart);
                }
                byte[] childName = new byte[nameEnd - nameoff];
                b.get(blk + nameoff, childName);
                if (is(childName, ErofsFormat.DOT) || is(childName, ErofsFormat.DOTDOT)) {
                    continue;
                }
                if (filter != null && !filter.contains(childName)) {
                    continue;
                }
                if (depth + 1 > ImageLimits.MAX_DEPTH) {
                    // the writer's limit too, so only a foreign or hostile image gets here; it also
                    // bounds the recursion
                    throw bad(
                            "directory nid "
                                    + r.nid
                                    + " is "
                                    + depth
                                    + " levels deep and not empty; images nest at most "
                                    + ImageLimits.MAX_DEPTH
                                    + " levels");
                }
                Inode child = child(nid, depth);
                if (child != null) {
                    if (dir.child(childName) != null) {
                        throw bad("directory nid " + r.nid + ": duplicate name in directory");
                    }
                    dir.put(childName, child);
                }
            }
        }
    }

    /** The inode at {@code nid}, or null for skipped entries (the root stubs / 0:0 char devices). */
    private Inode child(long nid, int depth) throws ErofsException {
        Inode known = byNid.get(nid);
        if (known != null) {
            return known;
        }
        Raw r = raw(nid, scratchRaw);
        int type = r.mode & FileType.S_IFMT;
        Stat stat = stat(r);
        final String w = "inode";
        Inode inode;
        switch (type) {
            case FileType.S_IFDIR:
                {
                    if (dirsSeen.get(nid) != null) {
                        throw bad(
                                "directory nid "
                                        + nid
                                        + " is reachable twice (directory hardlink or loop)");
                    }
                    Directory d = new Directory(stat, r.xattrs);
                    dirsSeen.put(nid, d);
                    pending.add(
                            new PendingDirectory(
                                    d, r.copy(), depth + 1)); // the scratch is reused meanwhile
                    return d;
                }
            case FileType.S_IFREG:
                if (r.whiteout) {
                    inode =
                            new DeviceNode(
                                    stat.withMode(FileType.S_IFCHR | (r.mode & 07777)),
                                    r.xattrs,
                                    0);
                } else if (r.layout == ErofsFormat.LAYOUT_CHUNK_BASED) {
                    inode = new RegularFile(stat, r.xattrs, r.size, r.payload, null, r.digest);
                } else if (r.size == 0) {
                    inode = new RegularFile(stat, r.xattrs, 0, null, null, null);
                } else {
                    checkFlat(r, w);
                    byte[] content = data(r, 0, (int) r.size, "content");
                    inode = new RegularFile(stat, r.xattrs, r.size, null, content, null);
                }
                break;
            case FileType.S_IFLNK:
                {
                    checkFlat(r, w);
                    if (r.size == 0 || r.size >= BLOCK_SIZE) {
                        throw bad("symlink nid " + nid + " has invalid target length " + r.size);
                    }
                    inode = new Symlink(stat, r.xattrs, data(r, 0, (int) r.size, "symlink target"));
                    break;
                }
            case FileType.S_IFCHR:
            case FileType.S_IFBLK:
                {
                    long rdev = r.iu & 0xffffffffL;
                    if (type == FileType.S_IFCHR && rdev == 0) {
                        return null; // root stubs (and any other overlay whiteout) are not part of
                        // the tree
                    }
                    inode = new DeviceNode(stat, r.xattrs, rdev);
                    break;
                }
            case FileType.S_IFIFO:
                inode = new Fifo(stat, r.xattrs);
                break;
            case FileType.S_IFSOCK:
                inode = new Socket(stat, r.xattrs);
                break;
            default:
                throw bad(
                        "inode nid " + nid + " has invalid mode 0" + Integer.toOctalString(r.mode));
        }
        byNid.put(nid, inode);
        return inode;
    }

    /**
     * nid -> inode without boxing: an image has one entry per inode (100k+), and a boxed map costs
     * more than the tree itself. Open addressing, linear probing; nids are never negative here.
     */
    private static final class NidMap {
        private long[] keys = new long[1 << 10];
        private Object[] values = new Object[1 << 10];
        private int size;

        Inode get(long nid) {
            int mask = keys.length - 1;
            for (int i = mix(nid) & mask; values[i] != null; i = (i + 1) & mask) {
                if (keys[i] == nid) {
                    return (Inode) values[i];
                }
            }
            return null;
        }

        void put(long nid, Inode v) {
            if (2 * (size + 1) > keys.length) {
                long[] ok = keys;
                Object[] ov = values;
                keys = new long[ok.length * 2];
                values = new Object[ov.length * 2];
                size = 0;
                for (int i = 0; i < ok.length; i++) {
                    if (ov[i] != null) {
                        put(ok[i], (Inode) ov[i]);
                    }
                }
            }
            int mask = keys.length - 1;
            int i = mix(nid) & mask;
            while (values[i] != null && keys[i] != nid) {
                i = (i + 1) & mask;
            }
            if (values[i] == null) {
                size++;
            }
            keys[i] = nid;
            values[i] = v;
        }

        private static int mix(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }
    }

    /** An unchecked little-endian u16 inside a range already checked with {@link #need}. */
    private int u16le(int p) {
        return b.getShort(p) & 0xffff;
    }
}
