package dev.kcfs.tree;

import java.util.List;

/** A named pipe. */
public record Fifo(Stat stat, List<Xattr> xattrs) implements Inode {
    public Fifo {
        xattrs = List.copyOf(xattrs);
    }
}
