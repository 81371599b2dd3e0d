package dev.kcfs.tree;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A directory: its own attributes plus children keyed by name bytes, kept in bytewise order. The
 * only mutable inode kind, so trees can be assembled from dumps, scans and layers.
 * {@code .} and {@code ..} are never stored; image writers add them.
 */
public final class Directory implements Inode {
    private Stat stat;
    private List<Xattr> xattrs;
    private final TreeMap<byte[], Inode> children = new TreeMap<>(Arrays::compareUnsigned);

    public Directory(Stat stat, List<Xattr> xattrs) {
        if (stat.type() != FileType.DIRECTORY) {
            throw new IllegalArgumentException(
                    "directory mode expected, got " + Integer.toOctalString(stat.mode()));
        }
        this.stat = stat;
        this.xattrs = List.copyOf(xattrs);
    }

    @Override
    public Stat stat() {
        return stat;
    }

    public void setStat(Stat stat) {
        this.stat = stat;
    }

    @Override
    public List<Xattr> xattrs() {
        return xattrs;
    }

    public void setXattrs(List<Xattr> xattrs) {
        this.xattrs = List.copyOf(xattrs);
    }

    /** Children in bytewise name order; a read-only view. */
    public NavigableMap<byte[], Inode> children() {
        return Collections.unmodifiableNavigableMap(children);
    }

    public Inode child(byte[] name) {
        return children.get(name);
    }

    /** Adds or replaces a child; returns the one it replaced, or null. */
    public Inode put(byte[] name, Inode inode) {
        return children.put(name, inode);
    }

    public Inode remove(byte[] name) {
        return children.remove(name);
    }

    public void clear() {
        children.clear();
    }

    public int size() {
        return children.size();
    }

    /** Number of child directories (hardlinked directories are not possible). */
    public int subdirectoryCount() {
        int n = 0;
        for (Inode c : children.values()) {
            if (c instanceof Directory) {
                n++;
            }
        }
        return n;
    }

    /** Children as a list of (name, inode) entries in order, for callers that index into them. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>(children.size());
        children.forEach((k, v) -> out.add(new Entry(k, v)));
        return out;
    }

    /** A named child. */
    public record Entry(byte[] name, Inode inode) {}
}
