package dev.kcfs.tree;

import java.util.List;

/** A Unix socket node. */
public record Socket(Stat stat, List<Xattr> xattrs) implements Inode {
    public Socket {
        xattrs = List.copyOf(xattrs);
    }
}
