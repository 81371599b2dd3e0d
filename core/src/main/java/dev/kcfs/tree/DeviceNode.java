package dev.kcfs.tree;

import java.util.List;

/**
 * A character or block device ({@link Stat#type()} tells which). {@code rdev} is the Linux/glibc
 * {@code dev_t} value. A character device 0/0 is an overlayfs whiteout.
 */
public record DeviceNode(Stat stat, List<Xattr> xattrs, long rdev) implements Inode {
    public DeviceNode {
        xattrs = List.copyOf(xattrs);
    }

    public boolean isWhiteout() {
        return stat.type() == FileType.CHAR_DEVICE && rdev == 0;
    }

    /** The glibc {@code dev_t} of a major/minor pair. */
    public static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32)
                | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12)
                | (minor & 0xffL);
    }

    public static long major(long rdev) {
        return ((rdev >>> 32) & 0xfffff000L) | ((rdev >>> 8) & 0xfffL);
    }

    public static long minor(long rdev) {
        return ((rdev >>> 12) & 0xffffff00L) | (rdev & 0xffL);
    }
}
