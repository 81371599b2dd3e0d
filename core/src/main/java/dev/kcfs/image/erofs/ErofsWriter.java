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
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.TreeWalker;
import dev.kcfs.tree.Xattr;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a tree as a composefs image byte-identical to upstream {@code mkcomposefs} 1.0.8
 * (FORMAT.md section 4): the tree rewrite of 4.4 on an internal copy (the caller's tree is not
 * touched), BFS inode order, compact/extended inodes, the placement loop, dirents, the shared xattr
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
            if (minVersion < ErofsFormat.MIN_FORMAT_VERSION || minVersion > ErofsFormat.MAX_FORMAT_VERSION) {
                throw new IllegalArgumentException("unsupported composefs format version " + minVersion
                        + " (supported: 0 and 1)");
            }
            if (maxVersion < minVersion) {
                maxVersion = minVersion;
            }
        }

        /** Upstream's defaults: min 0, max 1. */
        public static WriteOptions defaults() {
            return new WriteOptions(0, 1);
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
    public record WriteResult(int version, long size, long inodes) {
    }

    private ErofsWriter() {
    }

    /**
     * Writes the image of {@code root} to {@code out} (buffered internally; flushed, not closed).
     * On error nothing is guaranteed about what reached {@code out}; use
     * {@link #write(Directory, WriteOptions, Path)} for an all-or-nothing file.
     *
     * @throws ErofsException if the tree cannot be represented (e.g. "File too large")
     */
    public static WriteResult write(Directory root, WriteOptions options, OutputStream out) throws IOException {
        Layout layout = new Layout(root, options);
        layout.build();
        layout.emit(out);
        return new WriteResult(layout.version, layout.fileSize, layout.order.size());
    }

    /**
     * Writes the image to {@code file} through a temporary sibling renamed into place, so the file
     * is either complete or untouched.
     */
    public static WriteResult write(Directory root, WriteOptions options, Path file) throws IOException {
        Layout layout = new Layout(root, options);
        layout.build(); // tree errors surface before any file is created
        Path abs = file.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
        boolean ok = false;
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                layout.emit(os);
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
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
        final byte[] path; // for error messages
        final int mode;
        final long uid;
        final long gid;
        long nlink;
        final long mtimeSec;
        final int mtimeNsec;
        long size;
        byte[] data; // symlink target or inline content
        long rdev;
        boolean external;
        int chunkBits;
        int chunkCount;
        ArrayList<Xattr> xattrs;
        // directories
        Directory dir;
        Node parent;
        byte[][] entryNames;
        Node[] entryNodes;
        int[] blockStarts; // dirent index at which each block starts
        // layout
        int index = -1;
        boolean extended;
        int isz;
        int xsz;
        int nBlocks;
        int tail;
        long pos; // byte offset of the inode
        long blkaddr;
        boolean[] shared;
        Shared[] sharedRefs;
        int filter;

        Node(byte[] path, int mode, long uid, long gid, long nlink, long mtimeSec, int mtimeNsec, List<Xattr> xs) {
            this.path = path;
            this.mode = mode;
            this.uid = uid;
            this.gid = gid;
            this.nlink = nlink;
            this.mtimeSec = mtimeSec;
            this.mtimeNsec = mtimeNsec;
            this.xattrs = new ArrayList<>(xs.size() + 2);
            for (Xattr x : xs) {
                // 4.4 step 1: user data in the overlay namespace is escaped so overlayfs ignores it
                if (x.nameStartsWith(ErofsFormat.TRUSTED_OVERLAY)) {
                    byte[] n = x.name();
                    byte[] esc = new byte[n.length + 8];
                    System.arraycopy(ErofsFormat.TRUSTED_OVERLAY_OVERLAY, 0, esc, 0, 24);
                    System.arraycopy(n, 16, esc, 24, n.length - 16);
                    x = new Xattr(esc, x.value());
                }
                setXattr(this.xattrs, x);
            }
        }

        int type() {
            return mode & FileType.S_IFMT;
        }

        boolean isDir() {
            return type() == 0040000;
        }

        String pathString() {
            return new String(path, StandardCharsets.UTF_8);
        }
    }

    /** A shared xattr table entry. */
    private static final class Shared {
        final Xattr xattr;
        int count;
        long offset;

        Shared(Xattr xattr) {
            this.xattr = xattr;
        }
    }

    /** Sets (adds or replaces by name) an xattr. */
    private static void setXattr(List<Xattr> xs, Xattr x) {
        for (int i = 0; i < xs.size(); i++) {
            if (Arrays.equals(xs.get(i).name(), x.name())) {
                xs.set(i, x);
                return;
            }
        }
        xs.add(x);
    }

    private static final byte[] EMPTY = new byte[0];

    private static final class Layout {
        final Directory srcRoot;
        final WriteOptions options;
        int version;
        final Map<Inode, Node> nodes = new IdentityHashMap<>();
        final List<Node> whiteoutParents = new ArrayList<>();
        Node root;
        final List<Node> order = new ArrayList<>();
        long minSec;
        int minNsec;
        List<Shared> sharedTable = List.of();
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
            rewrite();
            version = options.minVersion();
            if (version < 1 && options.maxVersion() >= 1 && !whiteoutParents.isEmpty()) {
                version = 1;
            }
            if (version >= 1) {
                for (Node p : whiteoutParents) {
                    setXattr(p.xattrs, new Xattr(ErofsFormat.XATTR_ESCAPED_OPAQUE, new byte[] {'x'}));
                    setXattr(p.xattrs, new Xattr(ErofsFormat.XATTR_USER_OPAQUE, new byte[] {'x'}));
                }
            }
            setXattr(root.xattrs, new Xattr(ErofsFormat.XATTR_OPAQUE, new byte[] {'y'}));
            buildDirents();
            bfs();
            for (Node n : order) {
                n.xattrs.sort(Xattr.BY_NAME);
            }
            sizesAndInodeKinds();
            shareXattrs();
            place();
            assignBlocks();
        }

        // 4.4: copy the tree into Nodes while applying the rewrite
        void rewrite() throws ErofsException {
            TreeWalker.walk(srcRoot, e -> {
                if (!e.isFirstOccurrence()) {
                    return; // hardlink entries are skipped; the dirent will point at the target
                }
                Inode in = e.inode();
                Node parent = e.parent() == null ? null : nodes.get(e.parent());
                if (e.parent() != null) {
                    checkName(e.path());
                }
                Node n = new Node(e.path(), in.stat().mode(), in.stat().uid(), in.stat().gid(), in.stat().nlink(),
                        in.stat().mtimeSec(), in.stat().mtimeNsec(), in.xattrs());
                if (in instanceof Directory d) {
                    n.dir = d;
                    n.parent = parent == null ? n : parent;
                } else if (in instanceof RegularFile f) {
                    regular(n, f);
                } else if (in instanceof Symlink s) {
                    n.data = s.target();
                    n.size = s.target().length;
                    if (n.data.length == 0 || n.data.length >= BLOCK_SIZE) {
                        throw new ErofsException("Symlink " + n.pathString() + ": target length " + n.data.length
                                + " is not in 1..4095");
                    }
                } else if (in instanceof DeviceNode dev) {
                    if (dev.isWhiteout()) {
                        // 4.4 step 3: an input whiteout becomes an escaped one (a regular file)
                        n = new Node(e.path(), 0100000 | (in.stat().mode() & 07777), in.stat().uid(), in.stat().gid(),
                                in.stat().nlink(), in.stat().mtimeSec(), in.stat().mtimeNsec(), in.xattrs());
                        setXattr(n.xattrs, new Xattr(ErofsFormat.XATTR_ESCAPED_WHITEOUT, EMPTY));
                        setXattr(n.xattrs, new Xattr(ErofsFormat.XATTR_USER_WHITEOUT, EMPTY));
                        setXattr(parent.xattrs, new Xattr(ErofsFormat.XATTR_ESCAPED_WHITEOUTS, EMPTY));
                        setXattr(parent.xattrs, new Xattr(ErofsFormat.XATTR_USER_WHITEOUTS, EMPTY));
                        if (whiteoutParents.isEmpty() || whiteoutParents.get(whiteoutParents.size() - 1) != parent) {
                            whiteoutParents.add(parent);
                        }
                    } else {
                        n.rdev = dev.rdev();
                    }
                }
                nodes.put(in, n);
                if (parent == null) {
                    root = n;
                }
            });
            // whiteoutParents may hold a directory twice if its whiteouts were not adjacent; harmless
            // (set semantics) but keep the list small
        }

        private void regular(Node n, RegularFile f) throws ErofsException {
            long size = f.size();
            n.size = size;
            if (f.isInline()) {
                if (f.content().length != size) {
                    throw new ErofsException("File " + n.pathString() + ": inline content has " + f.content().length
                            + " bytes but size is " + Long.toUnsignedString(size));
                }
                n.data = f.content();
            } else if (size != 0) {
                // 4.7: chunk-based file whose chunks are all holes; at most 1024 chunks of 2^43 bytes
                if (Long.compareUnsigned(size, (long) ErofsFormat.MAX_CHUNKS << ErofsFormat.MAX_CHUNK_BITS) > 0) {
                    throw new ErofsException("File too large: " + n.pathString() + " has " + Long.toUnsignedString(size)
                            + " bytes, the maximum is 2^53");
                }
                int bits = size == 1 ? 0 : 64 - Long.numberOfLeadingZeros(size - 1);
                bits = Math.min(Math.max(bits, ErofsFormat.BLOCK_BITS), ErofsFormat.MAX_CHUNK_BITS);
                n.external = true;
                n.chunkBits = bits;
                n.chunkCount = (int) ((size + (1L << bits) - 1) >>> bits);
                byte[] metacopy = EMPTY;
                if (f.digest() != null) {
                    metacopy = new byte[ErofsFormat.METACOPY_SIZE];
                    System.arraycopy(ErofsFormat.METACOPY_HEADER, 0, metacopy, 0, 4);
                    System.arraycopy(f.digest().bytes(), 0, metacopy, 4, 32);
                }
                setXattr(n.xattrs, new Xattr(ErofsFormat.XATTR_METACOPY, metacopy));
                byte[] payload = f.payload();
                if (payload != null && payload.length > 0) {
                    byte[] redirect = new byte[payload.length + 1];
                    redirect[0] = '/';
                    System.arraycopy(payload, 0, redirect, 1, payload.length);
                    setXattr(n.xattrs, new Xattr(ErofsFormat.XATTR_REDIRECT, redirect));
                }
            } else {
                n.size = 0;
            }
        }

        private static void checkName(byte[] path) throws ErofsException {
            int s = path.length;
            while (s > 0 && path[s - 1] != '/') {
                s--;
            }
            int len = path.length - s;
            if (len == 0 || len > 255 || (len == 1 && path[s] == '.') || (len == 2 && path[s] == '.' && path[s + 1] == '.')) {
                throw new ErofsException("Invalid file name at " + new String(path, StandardCharsets.UTF_8)
                        + ": names must be 1..255 bytes and not '.' or '..'");
            }
            for (int i = s; i < path.length; i++) {
                if (path[i] == 0) {
                    throw new ErofsException("Invalid file name at " + new String(path, StandardCharsets.UTF_8)
                            + ": NUL byte");
                }
            }
        }

        // 4.4 steps 4, 6, 7: dirents incl. '.', '..' and the root stubs
        void buildDirents() {
            Node[] stubs = new Node[256];
            byte[] selinux = null;
            for (Xattr x : root.xattrs) {
                if (Arrays.equals(x.name(), ErofsFormat.XATTR_SELINUX)) {
                    selinux = x.value();
                }
            }
            for (int i = 0; i < 256; i++) {
                byte[] name = ErofsFormat.stubName(i);
                if (root.dir.child(name) == null) {
                    byte[] p = new byte[] {'/', name[0], name[1]};
                    List<Xattr> xs = selinux == null ? List.of() : List.of(new Xattr(ErofsFormat.XATTR_SELINUX, selinux));
                    stubs[i] = new Node(p, ErofsFormat.STUB_MODE, root.uid, root.gid, 1, root.mtimeSec, root.mtimeNsec, xs);
                }
            }
            for (Node n : nodes.values()) {
                if (n.dir == null) {
                    continue;
                }
                boolean isRoot = n == root;
                int count = n.dir.size() + 2;
                if (isRoot) {
                    for (Node s : stubs) {
                        count += s == null ? 0 : 1;
                    }
                }
                byte[][] names = new byte[count][];
                Node[] targets = new Node[count];
                int[] k = {0};
                int[] subdirs = {0};
                ErofsFormat.forEachDirentName(n.dir, isRoot, (name, child) -> {
                    Node t;
                    if (child != null) {
                        t = nodes.get(child);
                        if (child instanceof Directory) {
                            subdirs[0]++;
                        }
                    } else if (name.length == 1) {
                        t = n;
                    } else if (name[0] == '.') {
                        t = n.parent;
                    } else {
                        t = stubs[Character.digit(name[0], 16) << 4 | Character.digit(name[1], 16)];
                    }
                    names[k[0]] = name;
                    targets[k[0]] = t;
                    k[0]++;
                });
                n.entryNames = names;
                n.entryNodes = targets;
                n.nlink = 2 + subdirs[0];
            }
        }

        // 4.5: breadth-first numbering; a hardlinked inode is placed at its first BFS encounter
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
                    if (c.index < 0) {
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
                if (n.mtimeSec < minSec || (n.mtimeSec == minSec && Integer.compareUnsigned(n.mtimeNsec, minNsec) < 0)) {
                    minSec = n.mtimeSec;
                    minNsec = n.mtimeNsec;
                }
            }
            for (Node n : order) {
                switch (n.type()) {
                    case 0040000: {
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
                    case 0120000:
                        n.nBlocks = 0;
                        n.tail = n.data.length;
                        break;
                    case 0100000:
                        if (n.external) {
                            n.tail = 4 * n.chunkCount;
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
                n.extended = !(n.mtimeSec == minSec && n.mtimeNsec == minNsec && n.nlink <= 0xFFFF
                        && n.uid <= 0xFFFF && n.gid <= 0xFFFF && Long.compareUnsigned(n.size, 0xFFFFFFFFL) <= 0);
                n.isz = n.extended ? ErofsFormat.EXTENDED_INODE_SIZE : ErofsFormat.COMPACT_INODE_SIZE;
            }
        }

        // 4.10: shared iff the same (name, value) occurs on more than one inode
        void shareXattrs() throws ErofsException {
            Map<Xattr, Shared> counts = new HashMap<>();
            for (Node n : order) {
                for (Xattr x : n.xattrs) {
                    checkXattr(n, x);
                    counts.computeIfAbsent(x, Shared::new).count++;
                    if (Arrays.equals(x.name(), ErofsFormat.XATTR_ACL_ACCESS)
                            || Arrays.equals(x.name(), ErofsFormat.XATTR_ACL_DEFAULT)) {
                        hasAcl = true;
                    }
                }
            }
            List<Shared> table = new ArrayList<>();
            for (Shared s : counts.values()) {
                if (s.count > 1) {
                    table.add(s);
                }
            }
            table.sort((a, b) -> {
                int c = Arrays.compareUnsigned(b.xattr.name(), a.xattr.name());
                if (c != 0) {
                    return c;
                }
                c = Integer.compare(b.xattr.value().length, a.xattr.value().length);
                return c != 0 ? c : Arrays.compareUnsigned(b.xattr.value(), a.xattr.value());
            });
            long off = 0;
            for (Shared s : table) {
                s.offset = off;
                off += entrySize(s.xattr);
            }
            sharedTable = table;
            sharedSize = off;
            for (Node n : order) {
                int cnt = n.xattrs.size();
                if (cnt == 0) {
                    n.xsz = 0;
                    continue;
                }
                n.shared = new boolean[cnt];
                int nShared = 0;
                int inlineBytes = 0;
                int filterBits = 0;
                Shared[] refs = new Shared[Math.min(cnt, ErofsFormat.MAX_SHARED_XATTRS_PER_INODE)];
                for (int i = 0; i < cnt; i++) {
                    Xattr x = n.xattrs.get(i);
                    Shared s = counts.get(x);
                    if (s.count > 1 && nShared < ErofsFormat.MAX_SHARED_XATTRS_PER_INODE) {
                        n.shared[i] = true;
                        refs[nShared++] = s;
                    } else {
                        inlineBytes += entrySize(x);
                    }
                    int idx = prefixIndex(x.name());
                    int plen = idx == 0 ? 0 : ErofsFormat.XATTR_PREFIXES[idx].length;
                    byte[] name = x.name();
                    filterBits |= 1 << (Xxh32.hash(name, plen, name.length - plen, ErofsFormat.XATTR_FILTER_SEED + idx) & 31);
                }
                n.sharedRefs = Arrays.copyOf(refs, nShared);
                n.filter = ~filterBits;
                n.xsz = roundUp(ErofsFormat.XATTR_HEADER_SIZE + 4 * nShared + inlineBytes, 4);
                if ((n.xsz - ErofsFormat.XATTR_HEADER_SIZE) / 4 + 1 > 0xFFFF) {
                    throw new ErofsException("Too many xattrs on " + n.pathString() + " (" + n.xsz + " bytes)");
                }
            }
        }

        private static void checkXattr(Node n, Xattr x) throws ErofsException {
            int idx = prefixIndex(x.name());
            int suffix = x.name().length - (idx == 0 ? 0 : ErofsFormat.XATTR_PREFIXES[idx].length);
            if (x.name().length == 0 || suffix > 255 || x.value().length > 0xFFFF) {
                throw new ErofsException("Xattr " + x.nameString() + " on " + n.pathString()
                        + " cannot be stored: name suffix must be at most 255 bytes and value at most 65535 bytes");
            }
        }

        // 4.7 placement loop
        void place() {
            long pos = ErofsFormat.INODE_AREA_START;
            for (Node n : order) {
                pos = roundUp(pos, SLOT_SIZE);
                long extra = 0;
                long isz = n.isz;
                long xsz = n.xsz;
                if (n.type() == 0120000) {
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
                    n.blkaddr = blk;
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
                    out.u8(n.sharedRefs.length);
                    out.zeros(7);
                    for (Shared s : n.sharedRefs) {
                        out.u32((int) ((sharedBase + s.offset) / 4));
                    }
                    for (int i = 0; i < n.xattrs.size(); i++) {
                        if (!n.shared[i]) {
                            entry(out, n.xattrs.get(i));
                        }
                    }
                    out.padTo(start + n.xsz);
                }
                tail(out, n);
            }
            out.padTo(inodesEnd);
            for (Shared s : sharedTable) {
                entry(out, s.xattr);
            }
            out.padTo(dataStart);
            for (Node n : order) {
                if (n.nBlocks > 0) {
                    blocks(out, n);
                }
            }
            if (out.pos != fileSize) {
                throw new IllegalStateException("image layout mismatch: wrote " + out.pos + " of " + fileSize + " bytes");
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
                    // FORMAT.md 10.16: upstream sets raw_blkaddr, then overwrites the low 16 bits (union)
                    iu |= n.blkaddr & 0xFFFF0000L;
                }
            } else {
                layout = n.tail > 0 ? ErofsFormat.LAYOUT_FLAT_INLINE : ErofsFormat.LAYOUT_FLAT_PLAIN;
                int t = n.type();
                if (t == 0020000 || t == 0060000) {
                    iu = n.rdev;
                } else if (n.nBlocks > 0) {
                    iu = n.blkaddr;
                }
            }
            int icount = n.xsz == 0 ? 0 : (n.xsz - ErofsFormat.XATTR_HEADER_SIZE) / 4 + 1;
            out.u16(layout << 1 | (n.extended ? 1 : 0));
            out.u16(icount);
            out.u16(n.mode);
            if (n.extended) {
                out.u16(0);
                out.u64(n.size);
                out.u32((int) iu);
                out.u32(n.index);
                out.u32((int) n.uid);
                out.u32((int) n.gid);
                out.u64(n.mtimeSec);
                out.u32(n.mtimeNsec);
                out.u32((int) n.nlink);
                out.zeros(16);
            } else {
                out.u16((int) n.nlink);
                out.u32((int) n.size);
                out.u32(0);
                out.u32((int) iu);
                out.u32(n.index);
                out.u16((int) n.uid);
                out.u16((int) n.gid);
                out.u32(0);
            }
        }

        private static void entry(LeOut out, Xattr x) throws IOException {
            int idx = prefixIndex(x.name());
            int plen = idx == 0 ? 0 : ErofsFormat.XATTR_PREFIXES[idx].length;
            byte[] name = x.name();
            out.u8(name.length - plen);
            out.u8(idx);
            out.u16(x.value().length);
            out.bytes(name, plen, name.length - plen);
            out.bytes(x.value(), 0, x.value().length);
            out.zeros(entrySize(x) - (4 + name.length - plen + x.value().length));
        }

        private void tail(LeOut out, Node n) throws IOException {
            if (n.tail == 0) {
                return;
            }
            switch (n.type()) {
                case 0040000:
                    dirBlock(out, n, n.blockStarts.length - 1);
                    break;
                case 0120000:
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
                case 0040000:
                    for (int b = 0; b < n.nBlocks; b++) {
                        dirBlock(out, n, b);
                        out.padTo(start + (long) (b + 1) * BLOCK_SIZE);
                    }
                    break;
                case 0120000:
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
            int to = block + 1 < n.blockStarts.length ? n.blockStarts[block + 1] : n.entryNames.length;
            int nameoff = DIRENT_SIZE * (to - from);
            for (int i = from; i < to; i++) {
                Node t = n.entryNodes[i];
                out.u64(t.pos / SLOT_SIZE);
                out.u16(nameoff);
                out.u8(ErofsFormat.direntType(t.mode));
                out.u8(0);
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

    static int entrySize(Xattr x) {
        int idx = prefixIndex(x.name());
        int plen = idx == 0 ? 0 : ErofsFormat.XATTR_PREFIXES[idx].length;
        return roundUp(ErofsFormat.XATTR_ENTRY_HEADER_SIZE + x.name().length - plen + x.value().length, 4);
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
