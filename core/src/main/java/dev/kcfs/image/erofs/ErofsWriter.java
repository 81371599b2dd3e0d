package dev.kcfs.image.erofs;

import static dev.kcfs.image.erofs.ErofsFormat.BLOCK_SIZE;
import static dev.kcfs.image.erofs.ErofsFormat.DIRENT_SIZE;
import static dev.kcfs.image.erofs.ErofsFormat.SLOT_SIZE;
import static dev.kcfs.image.erofs.ErofsFormat.roundUp;

import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Stat;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes a tree as a composefs image byte-identical to upstream {@code mkcomposefs} 1.0.8
 * (docs/format.md, 'Image layout'): the tree rewrite ('Tree rewrite' there) on an internal copy
 * (the caller's tree is not touched), BFS inode order, compact/extended inodes, the placement loop, dirents, the shared xattr
 * table with the xattr name filter, chunk-based external files and version selection.
 *
 * <p>Layout is computed first on a compact per-inode model; the image is then streamed once, in
 * file order, so memory is proportional to the tree, never to the image.
 */
public final class ErofsWriter {

    /**
     * Format version bounds (4.11): the version used is {@code minVersion}, bumped to 1 when the tree
     * holds a whiteout and {@code maxVersion >= 1}. A max below min is raised to min.
     */
    public record WriteOptions(int minVersion, int maxVersion) {
        public WriteOptions {
            if (!ErofsFormat.isSupportedFormatVersion(minVersion)) {
                throw new IllegalArgumentException(
                        "unsupported composefs format version "
                                + minVersion
                                + " (supported: "
                                + ErofsFormat.MIN_FORMAT_VERSION
                                + " to "
                                + ErofsFormat.MAX_FORMAT_VERSION
                                + ")");
            }
            if (maxVersion < minVersion) {
                maxVersion = minVersion;
            }
        }

        /** Upstream's defaults: min 0, max 1. */
        public static WriteOptions defaults() {
            return new WriteOptions(ErofsFormat.MIN_FORMAT_VERSION, ErofsFormat.MAX_FORMAT_VERSION);
        }

        /** Exactly this version, for long-term reproducible images. */
        public static WriteOptions pinned(int version) {
            return new WriteOptions(version, version);
        }
    }

    /**
     * What was written.
     *
     * @param version composefs format version written in the header
     * @param size    image length in bytes
     * @param inodes  number of inodes (hardlinks counted once, the 256 root stubs included)
     */
    public record WriteResult(int version, long size, long inodes) {}

    private ErofsWriter() {}

    /**
     * Writes the image of {@code root} to {@code out} (buffered internally; flushed, not closed).
     * Problems with the tree are found while laying it out, before the first byte is written; an
     * I/O error can leave a partial image, so use {@link #write(Directory, WriteOptions, Path)} for
     * an all-or-nothing file. To get the image's fs-verity digest ({@code --print-digest}) feed the
     * same bytes to a {@link dev.kcfs.verity.FsVerityHasher}, e.g. through a filter stream.
     *
     * @throws ErofsException if the tree cannot be represented (e.g. "File too large")
     */
    public static WriteResult write(Directory root, WriteOptions options, OutputStream out)
            throws IOException {
        Layout layout = new Layout(root, options);
        layout.build();
        layout.emit(out);
        return new WriteResult(layout.version, layout.fileSize, layout.order.size());
    }

    /**
     * Writes the image to {@code file} through a temporary sibling renamed into place, so the file
     * is either complete or untouched.
     */
    public static WriteResult write(Directory root, WriteOptions options, Path file)
            throws IOException {
        Layout layout = new Layout(root, options);
        layout.build(); // tree errors surface before any file is created
        Path abs = file.toAbsolutePath();
        // like mkcomposefs' fopen(): world-readable unless the umask says otherwise (mounts need
        // it)
        Path tmp =
                Files.createTempFile(
                        abs.getParent(),
                        "." + abs.getFileName() + ".",
                        ".tmp",
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rw-r--r--")));
        boolean ok = false;
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                layout.emit(os);
            }
            Files.move(
                    tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(tmp);
            }
        }
        return new WriteResult(layout.version, layout.fileSize, layout.order.size());
    }

    // -------------------------------------------------------------------------------------------

    /** One inode as it will be written. */
    private static final class Node {
        final Node parent; // the directory it was first found in (itself for the root)
        final byte[] name;
        // One per inode of the image (100k+), so kept small: u32 values in ints, derived values not
        // stored.
        final int mode;
        final int uid; // unsigned
        final int gid; // unsigned
        int nlink; // unsigned
        final long mtimeSec;
        final int mtimeNsec;
        long size;
        // symlink target, inline content, or for an external file its payload: the redirect xattr
        // "/" + payload is never materialised
        byte[] data;
        long rdev;
        boolean external;
        byte chunkBits;
        Xattr[] xattrs; // exact size; replaced on change, so the caller's objects are never touched
        // directories
        byte[][] entryNames;
        Node[] entryNodes;
        int[] blockStarts; // dirent index at which each block starts
        // layout
        int index = -1;
        boolean extended;
        int xsz;
        int nBlocks;
        int tail;
        long pos; // byte offset of the inode
        int blkaddr; // unsigned
        XInfo[] xinfo; // xattrs sorted by name
        int nShared;
        int filter;

        Node(Node parent, byte[] name, int mode, Stat st, List<Xattr> xs) {
            this.parent = parent == null ? this : parent;
            this.name = name;
            this.mode = mode;
            this.uid = (int) st.uid();
            this.gid = (int) st.gid();
            this.nlink = (int) st.nlink();
            this.mtimeSec = st.mtimeSec();
            this.mtimeNsec = st.mtimeNsec();
            this.xattrs = xs.isEmpty() ? NO_XATTRS : xs.toArray(NO_XATTRS);
            for (int i = 0; i < xattrs.length; i++) {
                Xattr x = xattrs[i];
                // 4.4 step 1: user data in the overlay namespace is escaped so overlayfs ignores it
                if (x.nameStartsWith(ErofsFormat.TRUSTED_OVERLAY)) {
                    byte[] n = x.name();
                    byte[] esc = new byte[n.length + 8];
                    System.arraycopy(ErofsFormat.TRUSTED_OVERLAY_OVERLAY, 0, esc, 0, 24);
                    System.arraycopy(n, 16, esc, 24, n.length - 16);
                    xattrs[i] = new Xattr(esc, x.value());
                }
            }
        }

        /** Sets (adds or replaces by name) an xattr. */
        void set(Xattr x) {
            for (int i = 0; i < xattrs.length; i++) {
                if (Arrays.equals(xattrs[i].name(), x.name())) {
                    xattrs[i] = x;
                    return;
                }
            }
            xattrs = Arrays.copyOf(xattrs, xattrs.length + 1);
            xattrs[xattrs.length - 1] = x;
        }

        int type() {
            return mode & FileType.S_IFMT;
        }

        String pathString() {
            if (parent == this) {
                return "/";
            }
            StringBuilder sb = new StringBuilder();
            for (Node n = this; n.parent != n; n = n.parent) {
                sb.insert(0, new String(n.name, StandardCharsets.UTF_8)).insert(0, '/');
            }
            return sb.toString();
        }
    }

    /**
     * A distinct (name, value) pair, also the key of the sharing count; its encoding facts are
     * computed once when it is first seen. {@code slash} marks a redirect whose value is "/" +
     * {@code value}, so the per-file redirect value is never materialised.
     */
    private static final class XInfo {
        final byte[] name;
        final byte[] value;
        final boolean slash;
        final int hash;
        NameFacts facts;
        int prefixIndex;
        int prefixLength;
        int entrySize;
        int filterBit;
        int count;
        long offset;

        /** With {@code facts} of this very name array when known (saves hashing the name again). */
        XInfo(byte[] name, NameFacts facts, byte[] value, boolean slash) {
            this.name = name;
            this.value = value;
            this.slash = slash;
            this.facts = facts;
            int nameHash = facts != null ? facts.hash : Arrays.hashCode(name);
            this.hash = (nameHash * 31 + Arrays.hashCode(value)) * 2 + (slash ? 1 : 0);
        }

        int valueLength() {
            return value.length + (slash ? 1 : 0);
        }

        void init() {
            NameFacts f = facts != null ? facts : new NameFacts(name);
            prefixIndex = f.prefixIndex;
            prefixLength = f.prefixLength;
            filterBit = f.filterBit;
            entrySize =
                    roundUp(
                            ErofsFormat.XATTR_ENTRY_HEADER_SIZE
                                    + name.length
                                    - prefixLength
                                    + valueLength(),
                            4);
        }

        boolean shared() {
            return count > 1;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof XInfo x
                    && x.hash == hash
                    && x.slash == slash
                    && Arrays.equals(x.name, name)
                    && Arrays.equals(x.value, value);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        String nameString() {
            return new String(name, StandardCharsets.UTF_8);
        }
    }

    /**
     * What an xattr name alone decides: its hash, prefix and filter bit. Every external file
     * carries a metacopy and most a redirect xattr with a value of their own, so these two names
     * are worked out once, not once per file.
     */
    private static final class NameFacts {
        final int hash;
        final int prefixIndex;
        final int prefixLength;
        final int filterBit;

        NameFacts(byte[] name) {
            hash = Arrays.hashCode(name);
            prefixIndex = prefixIndex(name);
            prefixLength = prefixIndex == 0 ? 0 : ErofsFormat.XATTR_PREFIXES[prefixIndex].length;
            filterBit =
                    1
                            << (Xxh32.hash(
                                            name,
                                            prefixLength,
                                            name.length - prefixLength,
                                            ErofsFormat.XATTR_FILTER_SEED + prefixIndex)
                                    & 31);
        }
    }

    private static final NameFacts METACOPY_FACTS = new NameFacts(ErofsFormat.XATTR_METACOPY);
    private static final NameFacts REDIRECT_FACTS = new NameFacts(ErofsFormat.XATTR_REDIRECT);

    private static final Xattr[] NO_XATTRS = new Xattr[0];

    private static final byte[] EMPTY = new byte[0];
    private static final Xattr ESCAPED_WHITEOUT =
            new Xattr(ErofsFormat.XATTR_ESCAPED_WHITEOUT, EMPTY);
    private static final Xattr USER_WHITEOUT = new Xattr(ErofsFormat.XATTR_USER_WHITEOUT, EMPTY);
    private static final Xattr ESCAPED_WHITEOUTS =
            new Xattr(ErofsFormat.XATTR_ESCAPED_WHITEOUTS, EMPTY);
    private static final Xattr USER_WHITEOUTS = new Xattr(ErofsFormat.XATTR_USER_WHITEOUTS, EMPTY);
    private static final Xattr ESCAPED_OPAQUE_X =
            new Xattr(ErofsFormat.XATTR_ESCAPED_OPAQUE, new byte[] {'x'});
    private static final Xattr USER_OPAQUE_X =
            new Xattr(ErofsFormat.XATTR_USER_OPAQUE, new byte[] {'x'});
    private static final Xattr ROOT_OPAQUE = new Xattr(ErofsFormat.XATTR_OPAQUE, new byte[] {'y'});
    private static final Xattr EMPTY_METACOPY = new Xattr(ErofsFormat.XATTR_METACOPY, EMPTY);

    /** A directory being filled during the depth-first copy. */
    private static final class Frame {
        final Node node;
        final Iterator<Map.Entry<byte[], Inode>> children;
        final byte[][] extra;
        int nextExtra;
        int k;
        int subdirs;

        Frame(Node node, Directory dir, byte[][] extra) {
            this.node = node;
            this.children = dir.children().entrySet().iterator();
            this.extra = extra;
            node.entryNames = new byte[dir.size() + extra.length][];
            node.entryNodes = new Node[dir.size() + extra.length];
        }

        void add(byte[] name, Node target) {
            node.entryNames[k] = name;
            node.entryNodes[k] = target;
            k++;
        }
    }

    private static final class Layout {
        final Directory srcRoot;
        final WriteOptions options;
        int version;
        final Map<Inode, Node> nodes = new IdentityHashMap<>(1 << 12);
        final List<Node> whiteoutParents = new ArrayList<>();
        Node root;
        Node[] stubs;
        final List<Node> order = new ArrayList<>();
        long minSec;
        int minNsec;
        List<XInfo> sharedTable = List.of();
        long inodesEnd;
        long sharedSize;
        long dataStart;
        long nDataBlocks;
        long fileSize;
        boolean hasAcl;

        Layout(Directory root, WriteOptions options) {
            this.srcRoot = root;
            this.options = options;
        }

        void build() throws ErofsException {
            copyTree();
            version = options.minVersion();
            if (version < 1 && options.maxVersion() >= 1 && !whiteoutParents.isEmpty()) {
                version = 1;
            }
            if (version >= 1) {
                for (Node p : whiteoutParents) {
                    p.set(ESCAPED_OPAQUE_X);
                    p.set(USER_OPAQUE_X);
                }
            }
            bfs();
            sizesAndInodeKinds();
            shareXattrs();
            place();
            assignBlocks();
        }

        /**
         * Copies the tree into Nodes depth-first in sorted order (parents before children, the first
         * occurrence of a hardlinked inode owns it), applying the rewrite of 4.4 and building each
         * directory's dirents incl. '.', '..' and the root stubs.
         */
        void copyTree() throws ErofsException {
            root = new Node(null, EMPTY, srcRoot.stat().mode(), srcRoot.stat(), srcRoot.xattrs());
            root.set(ROOT_OPAQUE); // 4.4 step 5 (a real overlay xattr, so after the escaping)
            makeStubs();
            List<Frame> stack = new ArrayList<>();
            nodes.put(srcRoot, root);
            stack.add(new Frame(root, srcRoot, ErofsFormat.extraNames(srcRoot, true)));
            while (!stack.isEmpty()) {
                Frame f = stack.get(stack.size() - 1);
                if (!f.children.hasNext()) {
                    while (f.nextExtra < f.extra.length) {
                        addExtra(f, f.extra[f.nextExtra++]);
                    }
                    f.node.nlink = 2 + f.subdirs; // 4.4 step 7
                    stack.remove(stack.size() - 1);
                    continue;
                }
                Map.Entry<byte[], Inode> c = f.children.next();
                byte[] name = c.getKey();
                while (f.nextExtra < f.extra.length
                        && Arrays.compareUnsigned(f.extra[f.nextExtra], name) < 0) {
                    addExtra(f, f.extra[f.nextExtra++]);
                }
                Inode in = c.getValue();
                Node n = nodes.get(in);
                if (n != null) {
                    if (in instanceof Directory) {
                        throw new ErofsException(
                                "Directory "
                                        + f.node.pathString()
                                        + "/"
                                        + new String(name, StandardCharsets.UTF_8)
                                        + " appears twice in the tree (directories cannot be hardlinked)");
                    }
                    f.add(name, n); // a hardlink entry: points at the first occurrence
                    continue;
                }
                checkName(f.node, name);
                if (stack.size() > ImageLimits.MAX_DEPTH) {
                    throw new ErofsException(
                            "Path "
                                    + f.node.pathString()
                                    + "/"
                                    + new String(name, StandardCharsets.UTF_8)
                                    + " is "
                                    + stack.size()
                                    + " levels deep; images nest at most "
                                    + ImageLimits.MAX_DEPTH
                                    + " levels");
                }
                n = create(f.node, name, in);
                nodes.put(in, n);
                f.add(name, n);
                if (in instanceof Directory d) {
                    f.subdirs++;
                    stack.add(new Frame(n, d, ErofsFormat.extraNames(d, false)));
                }
            }
        }

        private void addExtra(Frame f, byte[] name) {
            if (name.length == 1) {
                f.add(name, f.node);
            } else if (name[0] == '.') {
                f.add(name, f.node.parent);
            } else {
                f.add(name, stubs[hex(name[0]) << 4 | hex(name[1])]);
            }
        }

        private static int hex(byte c) {
            return c <= '9' ? c - '0' : c - 'a' + 10;
        }

        // 4.4 step 6: whiteout stubs 00..ff for names the root does not have
        private void makeStubs() {
            stubs = new Node[256];
            List<Xattr> xs = List.of();
            for (Xattr x : root.xattrs) {
                if (Arrays.equals(x.name(), ErofsFormat.XATTR_SELINUX)) {
                    xs = List.of(x);
                }
            }
            Stat st =
                    new Stat(
                            ErofsFormat.STUB_MODE,
                            Integer.toUnsignedLong(root.uid),
                            Integer.toUnsignedLong(root.gid),
                            1,
                            root.mtimeSec,
                            root.mtimeNsec);
            for (int i = 0; i < 256; i++) {
                byte[] name = ErofsFormat.stubName(i);
                if (srcRoot.child(name) == null) {
                    stubs[i] = new Node(root, name, ErofsFormat.STUB_MODE, st, xs);
                }
            }
        }

        private Node create(Node parent, byte[] name, Inode in) throws ErofsException {
            Stat st = in.stat();
            // EROFS stores these in 32 bits: a wider value must never be truncated (a uid of 2^32
            // would become root)
            long rdev = in instanceof DeviceNode dev ? dev.rdev() : 0;
            if (Long.compareUnsigned(st.uid(), 0xFFFFFFFFL) > 0
                    || Long.compareUnsigned(st.gid(), 0xFFFFFFFFL) > 0
                    || Long.compareUnsigned(st.nlink(), 0xFFFFFFFFL) > 0
                    || Long.compareUnsigned(rdev, 0xFFFFFFFFL) > 0) {
                throw new ErofsException(
                        parent.pathString()
                                + "/"
                                + new String(name, StandardCharsets.UTF_8)
                                + ": uid "
                                + Long.toUnsignedString(st.uid())
                                + ", gid "
                                + Long.toUnsignedString(st.gid())
                                + ", nlink "
                                + Long.toUnsignedString(st.nlink())
                                + " or rdev "
                                + Long.toUnsignedString(rdev)
                                + " does not fit the image's 32 bits");
            }
            if (in instanceof DeviceNode dev && dev.isWhiteout()) {
                // 4.4 step 3: an input whiteout becomes an escaped one (a regular file)
                Node n =
                        new Node(
                                parent,
                                name,
                                FileType.S_IFREG | (st.mode() & 07777),
                                st,
                                in.xattrs());
                n.set(ESCAPED_WHITEOUT);
                n.set(USER_WHITEOUT);
                parent.set(ESCAPED_WHITEOUTS);
                parent.set(USER_WHITEOUTS);
                if (whiteoutParents.isEmpty()
                        || whiteoutParents.get(whiteoutParents.size() - 1) != parent) {
                    whiteoutParents.add(parent);
                }
                return n;
            }
            Node n = new Node(parent, name, st.mode(), st, in.xattrs());
            if (FileType.of(st.mode()) == null) {
                throw new ErofsException(
                        "Invalid mode 0"
                                + Integer.toOctalString(st.mode())
                                + " at "
                                + n.pathString());
            }
            if (in instanceof RegularFile f) {
                regular(n, f);
            } else if (in instanceof Symlink s) {
                n.data = s.target();
                n.size = s.target().length;
                if (n.data.length == 0 || n.data.length >= BLOCK_SIZE) {
                    throw new ErofsException(
                            "Symlink "
                                    + n.pathString()
                                    + ": target length "
                                    + n.data.length
                                    + " is not in 1..4095");
                }
            } else if (in instanceof DeviceNode dev) {
                n.rdev = dev.rdev();
            }
            return n;
        }

        private void regular(Node n, RegularFile f) throws ErofsException {
            long size = f.size();
            n.size = size;
            if (f.isInline()) {
                if (f.content().length != size) {
                    throw new ErofsException(
                            "File "
                                    + n.pathString()
                                    + ": inline content has "
                                    + f.content().length
                                    + " bytes but size is "
                                    + Long.toUnsignedString(size));
                }
                n.data = f.content();
            } else if (size != 0) {
                // 4.7: chunk-based file whose chunks are all holes; at most 1024 chunks of 2^43
                // bytes
                if (Long.compareUnsigned(
                                size, (long) ErofsFormat.MAX_CHUNKS << ErofsFormat.MAX_CHUNK_BITS)
                        > 0) {
                    throw new ErofsException(
                            "File too large: "
                                    + n.pathString()
                                    + " has "
                                    + Long.toUnsignedString(size)
                                    + " bytes, the maximum is 2^53");
                }
                int bits = size == 1 ? 0 : 64 - Long.numberOfLeadingZeros(size - 1);
                bits = Math.min(Math.max(bits, ErofsFormat.BLOCK_BITS), ErofsFormat.MAX_CHUNK_BITS);
                n.external = true;
                n.chunkBits = (byte) bits;
                if (f.digest() != null) {
                    byte[] metacopy = new byte[ErofsFormat.METACOPY_SIZE];
                    System.arraycopy(ErofsFormat.METACOPY_HEADER, 0, metacopy, 0, 4);
                    System.arraycopy(f.digest().bytes(), 0, metacopy, 4, 32);
                    n.set(new Xattr(ErofsFormat.XATTR_METACOPY, metacopy));
                } else {
                    n.set(EMPTY_METACOPY);
                }
                byte[] payload = f.payload();
                if (payload != null && payload.length > 0) {
                    // all input trusted.overlay.* were escaped, so this cannot replace a user xattr
                    n.data = payload;
                }
            } else {
                n.size = 0;
            }
        }

        private static void checkName(Node parent, byte[] name) throws ErofsException {
            int len = name.length;
            boolean bad =
                    len == 0
                            || len > 255
                            || (len == 1 && name[0] == '.')
                            || (len == 2 && name[0] == '.' && name[1] == '.');
            for (int i = 0; i < len && !bad; i++) {
                bad = name[i] == '/' || name[i] == 0;
            }
            if (bad) {
                throw new ErofsException(
                        "Invalid file name '"
                                + new String(name, StandardCharsets.UTF_8)
                                + "' in "
                                + parent.pathString()
                                + ": names must be 1..255 bytes without '/' or NUL and not '.' or '..'");
            }
        }

        /*
         * 4.5: breadth-first numbering. Upstream skips hardlink entries (the "@" lines) and places
         * the inode where its target entry is. Our tree has no "@" marker, only identity, so the
         * owning entry is the first occurrence in depth-first order, which is exactly the target
         * in dumps written by composefs-info (and by DumpPrinter).
         */
        void bfs() {
            root.index = 0;
            order.add(root);
            for (int q = 0; q < order.size(); q++) {
                Node d = order.get(q);
                if (d.entryNames == null) {
                    continue;
                }
                for (int i = 0; i < d.entryNames.length; i++) {
                    Node c = d.entryNodes[i];
                    if (c.index < 0 && c.parent == d && Arrays.equals(c.name, d.entryNames[i])) {
                        c.index = order.size();
                        order.add(c);
                    }
                }
            }
        }

        // 4.6, 4.7 (before placement)
        void sizesAndInodeKinds() {
            Node first = order.get(0);
            minSec = first.mtimeSec;
            minNsec = first.mtimeNsec;
            for (Node n : order) {
                if (n.mtimeSec < minSec
                        || (n.mtimeSec == minSec
                                && Integer.compareUnsigned(n.mtimeNsec, minNsec) < 0)) {
                    minSec = n.mtimeSec;
                    minNsec = n.mtimeNsec;
                }
            }
            for (Node n : order) {
                switch (n.type()) {
                    case FileType.S_IFDIR:
                        {
                            int[] starts = new int[4];
                            int nb = 0;
                            int used = 0;
                            starts[nb++] = 0;
                            for (int i = 0; i < n.entryNames.length; i++) {
                                int cost = DIRENT_SIZE + n.entryNames[i].length;
                                if (used + cost > BLOCK_SIZE) {
                                    if (nb == starts.length) {
                                        starts = Arrays.copyOf(starts, nb * 2);
                                    }
                                    starts[nb++] = i;
                                    used = 0;
                                }
                                used += cost;
                            }
                            n.blockStarts = Arrays.copyOf(starts, nb);
                            n.nBlocks = nb - 1;
                            n.tail = used;
                            if (n.tail > BLOCK_SIZE / 2) {
                                n.nBlocks++;
                                n.tail = 0;
                            }
                            n.size = (long) n.nBlocks * BLOCK_SIZE + n.tail;
                            break;
                        }
                    case FileType.S_IFLNK:
                        n.nBlocks = 0;
                        n.tail = n.data.length;
                        break;
                    case FileType.S_IFREG:
                        if (n.external) {
                            n.tail =
                                    4
                                            * (int)
                                                    ((n.size + (1L << n.chunkBits) - 1)
                                                            >>> n.chunkBits); // chunk map
                        } else if (n.data != null) {
                            n.nBlocks = (int) (n.size / BLOCK_SIZE);
                            n.tail = (int) (n.size % BLOCK_SIZE);
                            if (n.tail > BLOCK_SIZE / 2) {
                                n.nBlocks++;
                                n.tail = 0;
                            }
                        }
                        break;
                    default:
                        break;
                }
                n.extended =
                        !(n.mtimeSec == minSec
                                && n.mtimeNsec == minNsec
                                && Integer.compareUnsigned(n.nlink, 0xFFFF) <= 0
                                && Integer.compareUnsigned(n.uid, 0xFFFF) <= 0
                                && Integer.compareUnsigned(n.gid, 0xFFFF) <= 0
                                && Long.compareUnsigned(n.size, 0xFFFFFFFFL) <= 0);
            }
        }

        // 4.10: shared iff the same (name, value) occurs on more than one inode
        void shareXattrs() throws ErofsException {
            // sized for two distinct xattrs per inode (an external file's metacopy and redirect),
            // so
            // the table of a large tree is not rehashed six times on the way
            Map<XInfo, XInfo> infos = new HashMap<>(Math.max(1 << 12, order.size() * 3));
            Map<Xattr, XInfo> byIdentity = new IdentityHashMap<>();
            for (Node n : order) {
                int plain = n.xattrs.length;
                boolean redirect = n.external && n.data != null;
                int cnt = plain + (redirect ? 1 : 0);
                if (cnt == 0) {
                    continue;
                }
                XInfo[] xi = new XInfo[cnt];
                for (int i = 0; i < cnt; i++) {
                    // trees share Xattr objects (parser interning, our constants): look those up by
                    // identity
                    // first, which avoids hashing their bytes and allocating a key per occurrence
                    Xattr x = i < plain ? n.xattrs[i] : null;
                    XInfo info = x == null ? null : byIdentity.get(x);
                    if (info == null) {
                        XInfo key =
                                x == null
                                        ? new XInfo(
                                                ErofsFormat.XATTR_REDIRECT,
                                                REDIRECT_FACTS,
                                                n.data,
                                                true)
                                        : new XInfo(
                                                x.name(),
                                                x.name() == ErofsFormat.XATTR_METACOPY
                                                        ? METACOPY_FACTS
                                                        : null,
                                                x.value(),
                                                false);
                        info = infos.get(key);
                        if (info == null) {
                            info = key;
                            info.init();
                            checkXattr(n, info);
                            infos.put(info, info);
                            hasAcl |= info.prefixIndex == 2 || info.prefixIndex == 3;
                        }
                        if (x != null && byIdentity.size() < 4096) {
                            byIdentity.put(x, info);
                        }
                    }
                    info.count++;
                    xi[i] = info;
                }
                if (cnt > 1) {
                    Arrays.sort(xi, (a, b) -> Arrays.compareUnsigned(a.name, b.name)); // 4.4 step 8
                }
                n.xinfo = xi;
                n.xattrs = null; // no longer needed
            }
            List<XInfo> table = new ArrayList<>();
            for (XInfo s : infos.values()) {
                if (s.shared()) {
                    table.add(s);
                }
            }
            table.sort(
                    (a, b) -> {
                        int c = Arrays.compareUnsigned(b.name, a.name);
                        if (c != 0) {
                            return c;
                        }
                        c = Integer.compare(b.valueLength(), a.valueLength());
                        // same name and length: both or neither carry the virtual '/' (only
                        // redirects do)
                        return c != 0 ? c : Arrays.compareUnsigned(b.value, a.value);
                    });
            long off = 0;
            for (XInfo s : table) {
                s.offset = off;
                off += s.entrySize;
            }
            sharedTable = table;
            sharedSize = off;
            for (Node n : order) {
                if (n.xinfo == null) {
                    n.xsz = 0;
                    continue;
                }
                int nShared = 0;
                int inlineBytes = 0;
                int filterBits = 0;
                for (XInfo x : n.xinfo) {
                    if (x.shared() && nShared < ErofsFormat.MAX_SHARED_XATTRS_PER_INODE) {
                        nShared++;
                    } else {
                        inlineBytes += x.entrySize;
                    }
                    filterBits |= x.filterBit;
                }
                n.nShared = nShared;
                n.filter = ~filterBits;
                n.xsz = roundUp(ErofsFormat.XATTR_HEADER_SIZE + 4 * nShared + inlineBytes, 4);
                if ((n.xsz - ErofsFormat.XATTR_HEADER_SIZE) / 4 + 1 > 0xFFFF) {
                    throw new ErofsException(
                            "Too many xattrs on " + n.pathString() + " (" + n.xsz + " bytes)");
                }
            }
        }

        private static void checkXattr(Node n, XInfo x) throws ErofsException {
            int suffix = x.name.length - x.prefixLength;
            if (x.name.length == 0 || suffix > 255 || x.valueLength() > 0xFFFF) {
                throw new ErofsException(
                        "Xattr "
                                + x.nameString()
                                + " on "
                                + n.pathString()
                                + " cannot be stored: name suffix must be at most 255 bytes and value at most 65535 bytes");
            }
        }

        // 4.7 placement loop
        void place() {
            long pos = ErofsFormat.INODE_AREA_START;
            for (Node n : order) {
                pos = roundUp(pos, SLOT_SIZE);
                long extra = 0;
                long isz =
                        n.extended
                                ? ErofsFormat.EXTENDED_INODE_SIZE
                                : ErofsFormat.COMPACT_INODE_SIZE;
                long xsz = n.xsz;
                if (n.type() == FileType.S_IFLNK) {
                    long total = isz + xsz + n.tail;
                    if (total >= BLOCK_SIZE) {
                        n.nBlocks++;
                        n.tail = 0;
                    }
                    if (pos / BLOCK_SIZE != (pos + total - 1) / BLOCK_SIZE) {
                        extra = roundUp(pos, BLOCK_SIZE) - pos;
                    }
                } else {
                    long rem = BLOCK_SIZE - ((pos + isz + xsz) % BLOCK_SIZE);
                    if (rem < n.tail) {
                        extra = roundUp(rem, SLOT_SIZE);
                        long rem2 = BLOCK_SIZE - ((pos + isz + xsz + extra) % BLOCK_SIZE);
                        if (n.tail > rem2) {
                            n.nBlocks++;
                            n.tail = 0;
                            extra = roundUp(pos, BLOCK_SIZE) - pos;
                        }
                    }
                }
                pos += extra;
                n.pos = pos;
                pos += isz + xsz + n.tail;
            }
            inodesEnd = roundUp(pos, SLOT_SIZE);
        }

        void assignBlocks() {
            dataStart = roundUp(inodesEnd + sharedSize, BLOCK_SIZE);
            long blk = dataStart / BLOCK_SIZE;
            for (Node n : order) {
                if (n.nBlocks > 0) {
                    n.blkaddr = (int) blk;
                    blk += n.nBlocks;
                }
            }
            nDataBlocks = blk - dataStart / BLOCK_SIZE;
            fileSize = blk * BLOCK_SIZE;
        }

        // ----------------------------------------------------------------------------------
        // emission, strictly in file order

        void emit(OutputStream os) throws IOException {
            LeOut out = new LeOut(os);
            // composefs header
            out.u32(ErofsFormat.COMPOSEFS_MAGIC);
            out.u32(ErofsFormat.COMPOSEFS_HEADER_VERSION);
            out.u32(hasAcl ? ErofsFormat.FLAG_HAS_ACL : 0);
            out.u32(version);
            out.padTo(ErofsFormat.SUPERBLOCK_OFFSET);
            // superblock
            out.u32(ErofsFormat.EROFS_MAGIC);
            out.u32(0);
            out.u32(ErofsFormat.FEATURE_COMPAT_MTIME | ErofsFormat.FEATURE_COMPAT_XATTR_FILTER);
            out.u8(ErofsFormat.BLOCK_BITS);
            out.u8(0);
            out.u16((int) (root.pos / SLOT_SIZE));
            out.u64(order.size());
            out.u64(minSec);
            out.u32(minNsec);
            out.u32((int) (fileSize / BLOCK_SIZE));
            out.u32(0);
            out.u32((int) (inodesEnd / BLOCK_SIZE));
            out.padTo(ErofsFormat.INODE_AREA_START);

            long sharedBase = inodesEnd % BLOCK_SIZE;
            for (Node n : order) {
                out.padTo(n.pos);
                inode(out, n);
                if (n.xsz > 0) {
                    long start = out.pos;
                    out.u32(n.filter);
                    out.u8(n.nShared);
                    out.zeros(7);
                    int k = 0;
                    for (XInfo x : n.xinfo) {
                        if (k < n.nShared && x.shared()) {
                            out.u32((int) ((sharedBase + x.offset) / 4));
                            k++;
                        }
                    }
                    k = 0;
                    for (XInfo x : n.xinfo) {
                        if (k < n.nShared && x.shared()) {
                            k++;
                        } else {
                            entry(out, x);
                        }
                    }
                    out.padTo(start + n.xsz);
                }
                tail(out, n);
            }
            out.padTo(inodesEnd);
            for (XInfo x : sharedTable) {
                entry(out, x);
            }
            out.padTo(dataStart);
            for (Node n : order) {
                if (n.nBlocks > 0) {
                    blocks(out, n);
                }
            }
            if (out.pos != fileSize) {
                throw new IllegalStateException(
                        "image layout mismatch: wrote " + out.pos + " of " + fileSize + " bytes");
            }
            out.flush();
        }

        private void inode(LeOut out, Node n) throws IOException {
            int layout;
            long iu = 0;
            if (n.external) {
                layout = ErofsFormat.LAYOUT_CHUNK_BASED;
                iu = n.chunkBits - ErofsFormat.BLOCK_BITS;
                if (n.nBlocks > 0) {
                    // docs/format.md, 'Inodes': upstream sets raw_blkaddr, then overwrites the low
                    // 16 bits (union)
                    iu |= n.blkaddr & 0xFFFF0000L; // int widened with sign, masked to the low 32
                    // bits
                }
            } else {
                layout =
                        n.tail > 0 ? ErofsFormat.LAYOUT_FLAT_INLINE : ErofsFormat.LAYOUT_FLAT_PLAIN;
                int t = n.type();
                if (t == FileType.S_IFCHR || t == FileType.S_IFBLK) {
                    iu = n.rdev;
                } else if (n.nBlocks > 0) {
                    iu = Integer.toUnsignedLong(n.blkaddr);
                }
            }
            int icount = n.xsz == 0 ? 0 : (n.xsz - ErofsFormat.XATTR_HEADER_SIZE) / 4 + 1;
            out.reserve(ErofsFormat.EXTENDED_INODE_SIZE);
            out.put16(layout << 1 | (n.extended ? 1 : 0));
            out.put16(icount);
            out.put16(n.mode);
            if (n.extended) {
                out.put16(0);
                out.put64(n.size);
                out.put32((int) iu);
                out.put32(n.index);
                out.put32(n.uid);
                out.put32(n.gid);
                out.put64(n.mtimeSec);
                out.put32(n.mtimeNsec);
                out.put32(n.nlink);
                out.put64(0);
                out.put64(0);
            } else {
                out.put16(n.nlink);
                out.put32((int) n.size);
                out.put32(0);
                out.put32((int) iu);
                out.put32(n.index);
                out.put16(n.uid);
                out.put16(n.gid);
                out.put32(0);
            }
        }

        private static void entry(LeOut out, XInfo xi) throws IOException {
            int plen = xi.prefixLength;
            byte[] name = xi.name;
            out.u8(name.length - plen);
            out.u8(xi.prefixIndex);
            out.u16(xi.valueLength());
            out.bytes(name, plen, name.length - plen);
            if (xi.slash) {
                out.u8('/');
            }
            out.bytes(xi.value, 0, xi.value.length);
            out.zeros(xi.entrySize - (4 + name.length - plen + xi.valueLength()));
        }

        private void tail(LeOut out, Node n) throws IOException {
            if (n.tail == 0) {
                return;
            }
            switch (n.type()) {
                case FileType.S_IFDIR:
                    dirBlock(out, n, n.blockStarts.length - 1);
                    break;
                case FileType.S_IFLNK:
                    out.bytes(n.data, 0, n.data.length);
                    break;
                default:
                    if (n.external) {
                        out.fill(0xFF, n.tail);
                    } else {
                        out.bytes(n.data, n.data.length - n.tail, n.tail);
                    }
            }
        }

        private void blocks(LeOut out, Node n) throws IOException {
            long start = out.pos;
            switch (n.type()) {
                case FileType.S_IFDIR:
                    for (int b = 0; b < n.nBlocks; b++) {
                        dirBlock(out, n, b);
                        out.padTo(start + (long) (b + 1) * BLOCK_SIZE);
                    }
                    break;
                case FileType.S_IFLNK:
                    out.bytes(n.data, 0, n.data.length);
                    break;
                default:
                    if (n.external) {
                        out.fill(0xFF, BLOCK_SIZE);
                    } else {
                        out.bytes(n.data, 0, Math.min(n.data.length, n.nBlocks * BLOCK_SIZE));
                    }
            }
            out.padTo(start + (long) n.nBlocks * BLOCK_SIZE);
        }

        private static void dirBlock(LeOut out, Node n, int block) throws IOException {
            int from = n.blockStarts[block];
            int to =
                    block + 1 < n.blockStarts.length
                            ? n.blockStarts[block + 1]
                            : n.entryNames.length;
            int nameoff = DIRENT_SIZE * (to - from);
            for (int i = from; i < to; i++) {
                Node t = n.entryNodes[i];
                out.reserve(DIRENT_SIZE);
                out.put64(t.pos / SLOT_SIZE);
                out.put16(nameoff);
                out.put8(ErofsFormat.direntType(t.mode));
                out.put8(0);
                nameoff += n.entryNames[i].length;
            }
            for (int i = from; i < to; i++) {
                out.bytes(n.entryNames[i], 0, n.entryNames[i].length);
            }
        }
    }

    static int prefixIndex(byte[] name) {
        for (int idx : ErofsFormat.XATTR_PREFIX_MATCH_ORDER) {
            byte[] p = ErofsFormat.XATTR_PREFIXES[idx];
            if (name.length >= p.length && Arrays.equals(name, 0, p.length, p, 0, p.length)) {
                return idx;
            }
        }
        return 0;
    }

    /** Little-endian buffered output that tracks the absolute file position. */
    private static final class LeOut {
        private final OutputStream os;
        private final byte[] buf = new byte[1 << 16];
        private int len;
        long pos;

        LeOut(OutputStream os) {
            this.os = os;
        }

        private void room(int n) throws IOException {
            if (len + n > buf.length) {
                os.write(buf, 0, len);
                len = 0;
            }
        }

        void u8(int v) throws IOException {
            room(1);
            buf[len++] = (byte) v;
            pos++;
        }

        void u16(int v) throws IOException {
            room(2);
            buf[len++] = (byte) v;
            buf[len++] = (byte) (v >>> 8);
            pos += 2;
        }

        void u32(int v) throws IOException {
            room(4);
            buf[len++] = (byte) v;
            buf[len++] = (byte) (v >>> 8);
            buf[len++] = (byte) (v >>> 16);
            buf[len++] = (byte) (v >>> 24);
            pos += 4;
        }

        void u64(long v) throws IOException {
            u32((int) v);
            u32((int) (v >>> 32));
        }

        /** Makes room for {@code n} bytes (at most the buffer) written next with the put methods. */
        void reserve(int n) throws IOException {
            room(n);
        }

        // unchecked: only after reserve() covered them; the hot paths (inodes, dirents) call one
        // reserve() instead of a bounds check per field

        void put8(int v) {
            buf[len++] = (byte) v;
            pos++;
        }

        void put16(int v) {
            byte[] b = buf;
            int l = len;
            b[l] = (byte) v;
            b[l + 1] = (byte) (v >>> 8);
            len = l + 2;
            pos += 2;
        }

        void put32(int v) {
            byte[] b = buf;
            int l = len;
            b[l] = (byte) v;
            b[l + 1] = (byte) (v >>> 8);
            b[l + 2] = (byte) (v >>> 16);
            b[l + 3] = (byte) (v >>> 24);
            len = l + 4;
            pos += 4;
        }

        void put64(long v) {
            put32((int) v);
            put32((int) (v >>> 32));
        }

        void bytes(byte[] b, int off, int n) throws IOException {
            while (n > 0) {
                room(Math.min(n, buf.length));
                int k = Math.min(n, buf.length - len);
                System.arraycopy(b, off, buf, len, k);
                len += k;
                off += k;
                n -= k;
                pos += k;
            }
        }

        void fill(int value, long n) throws IOException {
            while (n > 0) {
                room(1);
                int k = (int) Math.min(n, buf.length - len);
                Arrays.fill(buf, len, len + k, (byte) value);
                len += k;
                n -= k;
                pos += k;
            }
        }

        void zeros(long n) throws IOException {
            fill(0, n);
        }

        void padTo(long target) throws IOException {
            if (target < pos) {
                throw new IllegalStateException("image layout overlap at " + pos + " > " + target);
            }
            zeros(target - pos);
        }

        void flush() throws IOException {
            os.write(buf, 0, len);
            len = 0;
            os.flush();
        }
    }
}
