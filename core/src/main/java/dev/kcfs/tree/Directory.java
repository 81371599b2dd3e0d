package dev.kcfs.tree;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;

/**
 * A directory: its own attributes plus children keyed by name bytes, kept in bytewise order. The
 * only mutable inode kind, so trees can be assembled from dumps, scans and layers.
 * {@code .} and {@code ..} are never stored; image writers add them.
 *
 * <p>The children are two parallel arrays sorted by name rather than a {@code TreeMap}: dumps,
 * images and scans (which sort each directory's entries first) add names in order, so nearly every
 * {@link #put} is an append, a fraction of the work of a red-black tree (about 5 % of building an
 * image from a dump, issue 13). A large directory filled out of order (a tar layer, an unsorted
 * dump) moves to a {@code TreeMap} for good, so no order of puts and lookups costs more than
 * before. Not thread-safe.
 */
public final class Directory implements Inode {
    private static final byte[][] NO_NAMES = {};
    private static final Inode[] NO_INODES = {};

    /** Out-of-order puts into a directory up to this size shift the arrays; larger ones move to a tree. */
    private static final int SHIFT_LIMIT = 256;

    private Stat stat;
    private List<Xattr> xattrs;
    private byte[][] names = NO_NAMES;
    private Inode[] inodes = NO_INODES;
    private int size;

    /** The children once an out-of-order put met a large directory; the arrays are then unused. */
    private TreeMap<byte[], Inode> tree;

    private final Map<byte[], Inode> view = new ChildrenView();

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
    public Map<byte[], Inode> children() {
        return view;
    }

    public Inode child(byte[] name) {
        if (tree != null) {
            return tree.get(name);
        }
        int i = search(name);
        return i >= 0 ? inodes[i] : null;
    }

    /** Adds or replaces a child. */
    public void put(byte[] name, Inode inode) {
        if (tree != null) {
            tree.put(name, inode);
            return;
        }
        if (size == 0 || Arrays.compareUnsigned(name, names[size - 1]) > 0) {
            grow();
            names[size] = name;
            inodes[size] = inode;
            size++;
            return;
        }
        int i = search(name);
        if (i >= 0) {
            inodes[i] = inode;
            return;
        }
        if (size >= SHIFT_LIMIT) {
            tree = new TreeMap<>(Arrays::compareUnsigned);
            for (int k = 0; k < size; k++) {
                tree.put(names[k], inodes[k]);
            }
            names = NO_NAMES;
            inodes = NO_INODES;
            size = 0;
            tree.put(name, inode);
            return;
        }
        int at = -i - 1;
        grow();
        System.arraycopy(names, at, names, at + 1, size - at);
        System.arraycopy(inodes, at, inodes, at + 1, size - at);
        names[at] = name;
        inodes[at] = inode;
        size++;
    }

    public Inode remove(byte[] name) {
        if (tree != null) {
            return tree.remove(name);
        }
        int i = search(name);
        if (i < 0) {
            return null;
        }
        Inode old = inodes[i];
        System.arraycopy(names, i + 1, names, i, size - i - 1);
        System.arraycopy(inodes, i + 1, inodes, i, size - i - 1);
        size--;
        names[size] = null;
        inodes[size] = null;
        return old;
    }

    public void clear() {
        names = NO_NAMES;
        inodes = NO_INODES;
        size = 0;
        tree = null;
    }

    public int size() {
        return tree != null ? tree.size() : size;
    }

    /** Number of child directories (hardlinked directories are not possible). */
    public int subdirectoryCount() {
        int n = 0;
        if (tree != null) {
            for (Inode c : tree.values()) {
                n += c instanceof Directory ? 1 : 0;
            }
            return n;
        }
        for (int i = 0; i < size; i++) {
            n += inodes[i] instanceof Directory ? 1 : 0;
        }
        return n;
    }

    /** Children as a list of (name, inode) entries in order, for callers that index into them. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>(size());
        if (tree != null) {
            tree.forEach((name, inode) -> out.add(new Entry(name, inode)));
            return out;
        }
        for (int i = 0; i < size; i++) {
            out.add(new Entry(names[i], inodes[i]));
        }
        return out;
    }

    /** A named child. */
    public record Entry(byte[] name, Inode inode) {}

    private void grow() {
        if (size == names.length) {
            int n = Math.max(4, size * 2);
            names = Arrays.copyOf(names, n);
            inodes = Arrays.copyOf(inodes, n);
        }
    }

    /** Binary search of the sorted arrays: the index, or -(insertion point) - 1. */
    private int search(byte[] name) {
        int lo = 0;
        int hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(names[mid], name);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    /** The read-only, live, ordered view {@link #children()} returns. */
    private final class ChildrenView extends AbstractMap<byte[], Inode> {
        @Override
        public int size() {
            return Directory.this.size();
        }

        @Override
        public Inode get(Object key) {
            return key instanceof byte[] b ? child(b) : null;
        }

        @Override
        public boolean containsKey(Object key) {
            return key instanceof byte[] b && child(b) != null;
        }

        @Override
        public Set<Map.Entry<byte[], Inode>> entrySet() {
            if (tree != null) {
                return Collections.unmodifiableMap(tree).entrySet();
            }
            return new AbstractSet<>() {
                @Override
                public int size() {
                    return size;
                }

                @Override
                public Iterator<Map.Entry<byte[], Inode>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next < size;
                        }

                        @Override
                        public Map.Entry<byte[], Inode> next() {
                            if (next >= size) {
                                throw new NoSuchElementException();
                            }
                            Map.Entry<byte[], Inode> e =
                                    new AbstractMap.SimpleImmutableEntry<>(
                                            names[next], inodes[next]);
                            next++;
                            return e;
                        }
                    };
                }
            };
        }
    }
}
