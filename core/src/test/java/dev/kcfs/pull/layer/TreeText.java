package dev.kcfs.pull.layer;

import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.Map;

/** Renders a tree as text, one line per path, hardlinks shown as "=> first path": easy to diff in assertions. */
public final class TreeText {
    private TreeText() {}

    public static String render(Directory root) {
        StringBuilder sb = new StringBuilder();
        line(sb, "/", root, new IdentityHashMap<>(), false);
        return sb.toString();
    }

    /** Every path on its own full line (hardlinks not shown as such), for comparing with trees scanned from disk. */
    public static String renderFlat(Directory root) {
        StringBuilder sb = new StringBuilder();
        line(sb, "/", root, new IdentityHashMap<>(), true);
        return sb.toString();
    }

    private static void line(
            StringBuilder sb, String path, Inode i, Map<Inode, String> seen, boolean flat) {
        String first = flat ? null : seen.putIfAbsent(i, path);
        if (first != null) {
            sb.append(path).append(" => ").append(first).append('\n');
            return;
        }
        var s = i.stat();
        sb.append(path)
                .append(' ')
                .append(Integer.toOctalString(s.mode()))
                .append(' ')
                .append(s.uid())
                .append(':')
                .append(s.gid())
                .append(" n")
                .append(s.nlink())
                .append(" t")
                .append(s.mtimeSec())
                .append('.')
                .append(s.mtimeNsec());
        if (i instanceof RegularFile f) {
            sb.append(" size=").append(f.size());
            if (f.content() != null) {
                sb.append(" inline=").append(HexFormat.of().formatHex(f.content()));
            }
            if (f.digest() != null) {
                sb.append(" digest=")
                        .append(f.digest().hex())
                        .append(" payload=")
                        .append(new String(f.payload(), StandardCharsets.ISO_8859_1));
            }
        } else if (i instanceof Symlink l) {
            sb.append(" -> ").append(new String(l.target(), StandardCharsets.ISO_8859_1));
        } else if (i instanceof DeviceNode d) {
            sb.append(" dev=")
                    .append(DeviceNode.major(d.rdev()))
                    .append(',')
                    .append(DeviceNode.minor(d.rdev()));
        }
        for (Xattr x : i.xattrs()) {
            sb.append(' ')
                    .append(x.nameString())
                    .append("=0x")
                    .append(HexFormat.of().formatHex(x.value()));
        }
        sb.append('\n');
        if (i instanceof Directory d) {
            for (Directory.Entry e : d.entries()) {
                String name = new String(e.name(), StandardCharsets.ISO_8859_1);
                line(sb, path.equals("/") ? "/" + name : path + "/" + name, e.inode(), seen, flat);
            }
        }
    }
}
