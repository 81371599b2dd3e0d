package dev.kcfs.tree;

import java.util.Arrays;
import java.util.List;

/** A symbolic link; the target is arbitrary bytes (non-empty, under 4096 bytes in images). */
public record Symlink(Stat stat, List<Xattr> xattrs, byte[] target) implements Inode {
    public Symlink {
        xattrs = List.copyOf(xattrs);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Symlink s
                && stat.equals(s.stat)
                && xattrs.equals(s.xattrs)
                && Arrays.equals(target, s.target);
    }

    @Override
    public int hashCode() {
        return stat.hashCode() * 31 + Arrays.hashCode(target);
    }
}
