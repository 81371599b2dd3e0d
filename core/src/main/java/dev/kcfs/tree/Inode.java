package dev.kcfs.tree;

import java.util.List;

/**
 * One inode of a composefs tree. The tree model knows nothing of files, images or the kernel.
 *
 * <p>Hardlinks are the same {@code Inode} object under two names (compare by identity). Xattr lists
 * keep the order they were given in; writers sort where the format wants it.
 */
public sealed interface Inode permits Directory, RegularFile, Symlink, DeviceNode, Fifo, Socket {
    Stat stat();

    List<Xattr> xattrs();

    default FileType type() {
        return stat().type();
    }
}
