package dev.kcfs.tree;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Depth-first, pre-order walk of a tree with children in bytewise name order: the order of
 * {@code composefs-info dump} and {@code ls}. The root comes first with path {@code /}.
 *
 * <p>A non-directory reachable under several names (a hardlink) is reported once as the first
 * occurrence and afterwards with {@link Entry#firstPath()} naming where it was first seen, which is
 * what the dump format prints as the hardlink target. Iterative, so deep trees cannot overflow the
 * stack.
 */
public final class TreeWalker {
    private TreeWalker() {}

    /**
     * One visited entry.
     *
     * @param path      absolute path bytes ({@code /} for the root); a fresh array per entry
     * @param inode     the inode
     * @param parent    the directory holding it, null for the root
     * @param firstPath null on the first occurrence of this inode; else the path of that first occurrence
     */
    public record Entry(byte[] path, Inode inode, Directory parent, byte[] firstPath) {
        public boolean isFirstOccurrence() {
            return firstPath == null;
        }

        public boolean isRoot() {
            return parent == null;
        }
    }

    /** Receives entries in walk order. */
    @FunctionalInterface
    public interface Visitor<E extends Exception> {
        void visit(Entry entry) throws E;
    }

    /** Walks {@code root} depth-first in sorted order, calling {@code visitor} for every entry. */
    public static <E extends Exception> void walk(Directory root, Visitor<E> visitor) throws E {
        Map<Inode, byte[]> seen = new IdentityHashMap<>();
        visitor.visit(new Entry(new byte[] {'/'}, root, null, null));
        List<Frame> stack = new ArrayList<>();
        stack.add(new Frame(root, new byte[0]));
        while (!stack.isEmpty()) {
            Frame f = stack.get(stack.size() - 1);
            if (!f.it.hasNext()) {
                stack.remove(stack.size() - 1);
                continue;
            }
            Map.Entry<byte[], Inode> c = f.it.next();
            byte[] name = c.getKey();
            byte[] path = Arrays.copyOf(f.prefix, f.prefix.length + 1 + name.length);
            path[f.prefix.length] = '/';
            System.arraycopy(name, 0, path, f.prefix.length + 1, name.length);
            Inode inode = c.getValue();
            if (inode instanceof Directory d) {
                visitor.visit(new Entry(path, inode, f.dir, null));
                stack.add(new Frame(d, path));
            } else {
                // Keep the first path only for inodes that say they are hardlinked; the others get
                // a
                // marker (saves a path per file) and, should one show up twice anyway (an nlink
                // that
                // lies), its first path is looked up again.
                byte[] first = seen.putIfAbsent(inode, inode.stat().nlink() > 1 ? path : NOT_KEPT);
                if (first == NOT_KEPT) {
                    first = firstPath(root, inode);
                    seen.put(inode, first);
                }
                visitor.visit(new Entry(path, inode, f.dir, first));
            }
        }
    }

    private static final byte[] NOT_KEPT = new byte[0];

    /** The path of the first occurrence of {@code target} in walk order. */
    private static byte[] firstPath(Directory root, Inode target) {
        byte[][] found = new byte[1][];
        class Found extends RuntimeException {
            Found() {
                super(null, null, false, false);
            }
        }
        try {
            walk(
                    root,
                    e -> {
                        if (e.inode() == target) {
                            found[0] = e.path();
                            throw new Found();
                        }
                    });
        } catch (Found stop) {
            return found[0];
        }
        throw new IllegalStateException("inode not in the tree");
    }

    /** All entries in walk order, for callers that want a list. */
    public static List<Entry> entries(Directory root) {
        List<Entry> out = new ArrayList<>();
        walk(root, out::add);
        return out;
    }

    private static final class Frame {
        final Directory dir;
        final byte[] prefix;
        final Iterator<Map.Entry<byte[], Inode>> it;

        Frame(Directory dir, byte[] prefix) {
            this.dir = dir;
            this.prefix = prefix;
            this.it = dir.children().entrySet().iterator();
        }
    }
}
