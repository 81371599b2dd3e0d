package dev.kcfs.pull.layer;

import dev.kcfs.oci.tar.TarEntry;
import dev.kcfs.oci.tar.TarFormatException;
import dev.kcfs.oci.tar.TarReader;
import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Fifo;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Socket;
import dev.kcfs.tree.Stat;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Applies OCI image layers, in order, to an in-memory composefs tree; file bodies go to a
 * {@link BodySink} (the object store) exactly once, while they stream.
 *
 * <h2>How tar metadata maps to the tree</h2>
 * <ul>
 *   <li><b>Paths.</b> Names are raw bytes. Leading {@code /} and {@code ./}, empty and {@code .}
 *       components are dropped (so {@code /etc/x}, {@code ./etc/x} and {@code etc//x} are the same
 *       entry); a {@code ..} component anywhere is an error. A path (or hardlink target) that passes
 *       through a symlink or through a non-directory is an error: the tree is never modified outside
 *       the paths the archive names, and nothing can escape it. An entry naming the root itself
 *       ({@code ./}) sets the root directory's metadata.</li>
 *   <li><b>Missing parents</b> are created as {@code 0755} directories owned by 0:0 with mtime 0
 *       (fixed values, so the result does not depend on the clock).</li>
 *   <li><b>Mode</b> = type from the tar type flag | permission bits {@code 07777} of the header.
 *       <b>uid/gid</b> from PAX {@code uid}/{@code gid}, else the header (user and group names are
 *       ignored: no name lookup, the numbers are what the image says). <b>mtime</b> = PAX
 *       {@code mtime} seconds and nanoseconds (digits beyond 9 are dropped, negative times floor), else
 *       the header's whole seconds with 0 ns.</li>
 *   <li><b>Xattrs</b> = PAX {@code SCHILY.xattr.NAME} (and libarchive's {@code LIBARCHIVE.xattr.NAME}),
 *       values byte-exact; sorted by name, a later record for the same name wins. A file's xattrs are
 *       those of its last tar entry. {@code trusted.overlay.*} xattrs are kept; the image writer escapes them.</li>
 *   <li><b>Regular files</b>: size 0 is an empty file; size &lt;= 64 bytes is stored inline in the
 *       image (like mkcomposefs); bigger bodies go to the object store, named by their fs-verity
 *       digest (payload {@code ab/cdef…}).</li>
 *   <li><b>Hardlinks</b> ({@code 1}) become the same inode object as their target, which must already be
 *       in the tree (from this layer or a lower one) and not be a directory. The link entry's own
 *       metadata is ignored, as tar does. <b>nlink</b> of every non-directory is the number of names it
 *       has in the final tree; directories get 2 + subdirectories.</li>
 *   <li><b>Symlinks</b>: target bytes kept verbatim (they are resolved by the kernel at run time, never
 *       by us). <b>Devices</b>: {@code rdev} = glibc {@code makedev(devmajor, devminor)}. <b>Fifos</b> kept.</li>
 *   <li><b>Overrides</b>: a later entry replaces what is at its path, except that a directory entry
 *       over an existing directory only replaces its metadata and keeps the children (tar and
 *       container runtimes merge directories).</li>
 *   <li><b>Whiteouts</b>: {@code DIR/.wh.NAME} removes {@code DIR/NAME} (with everything below it) if it
 *       came from a lower layer; entries of the same layer are not whited out (OCI: whiteouts apply to
 *       lower layers only). {@code DIR/.wh..wh..opq} makes {@code DIR} opaque: everything below it that
 *       this layer did not write is removed, whether the marker comes before or after this layer's
 *       entries in {@code DIR}. Other {@code .wh..wh.*} names (aufs metadata) are ignored. Whiteout
 *       entries never appear in the tree and their metadata is ignored.</li>
 *   <li>Anything else in the archive (unsupported types) fails the import with a message naming the entry.</li>
 * </ul>
 * The result depends only on the layer bytes and their order, so the same image gives the same tree,
 * and so the same composefs image digest, on every machine.
 */
public final class TreeBuilder {
    /** Regular files up to this size are inlined into the image instead of becoming objects (as mkcomposefs). */
    public static final int INLINE_LIMIT = 64;

    /**
     * Most tar entries accepted over all layers of one image. The tree lives in memory (a few hundred
     * bytes per inode), so a tiny layer of millions of empty entries could otherwise exhaust the heap;
     * real images have well under a million files.
     */
    public static final long MAX_ENTRIES = 4_000_000;

    private static final byte[] WH_PREFIX = ".wh.".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WH_META_PREFIX = ".wh..wh.".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WH_OPAQUE = ".wh..wh..opq".getBytes(StandardCharsets.US_ASCII);
    private static final Stat DEFAULT_DIR =
            new Stat(FileType.DIRECTORY.bits() | 0755, 0, 0, 2, 0, 0);

    private final BodySink sink;
    private final BodyPipeline pipeline;
    private final Directory root = new Directory(DEFAULT_DIR, List.of());

    /** Bodies still being hashed/stored, by the placeholder inode that stands for them in the tree. */
    private final Map<RegularFile, CompletableFuture<Digest>> pending = new IdentityHashMap<>();

    /** Inodes this layer wrote or walked through: whiteouts and opaque markers spare them. */
    private Set<Inode> touched = Collections.newSetFromMap(new IdentityHashMap<>());

    private final java.util.concurrent.atomic.AtomicReference<CompletableFuture<Digest>>
            firstFailure = new java.util.concurrent.atomic.AtomicReference<>();
    private String source;
    private long bodyBytes;
    private long entries;
    private final long maxEntries;
    private KnownBodies known = KnownBodies.NONE;

    /**
     * @param sink     receives every body larger than {@link #INLINE_LIMIT}
     * @param pipeline worker threads for the sink, or null to run it on the calling thread
     */
    public TreeBuilder(BodySink sink, BodyPipeline pipeline) {
        this(sink, pipeline, MAX_ENTRIES);
    }

    /** @param maxEntries tar entries accepted over all layers (see {@link #MAX_ENTRIES}) */
    public TreeBuilder(BodySink sink, BodyPipeline pipeline, long maxEntries) {
        this.sink = sink;
        this.pipeline = pipeline;
        this.maxEntries = maxEntries;
    }

    /** Uncompressed bytes of regular-file bodies seen so far (for progress and benchmarks). */
    public long bodyBytes() {
        return bodyBytes;
    }

    /**
     * Applies one uncompressed layer tar. Reads the stream to its end (so a digest check wrapped around
     * it sees every byte). On error the builder is unusable: call {@link #abort()}.
     *
     * @param source names the layer in error messages (e.g. its digest)
     */
    public void apply(InputStream tar, String source) throws IOException {
        apply(tar, source, KnownBodies.NONE);
    }

    /**
     * {@link #apply(InputStream, String)}, taking the bodies {@code known} names from the store instead
     * of the stream (they are still read past, so a check around the stream sees every byte).
     */
    public void apply(InputStream tar, String source, KnownBodies known) throws IOException {
        this.source = source;
        this.known = known;
        touched = Collections.newSetFromMap(new IdentityHashMap<>());
        TarReader reader = new TarReader(tar, source);
        TarEntry e;
        while ((e = reader.next()) != null) {
            failFast();
            if (++entries > maxEntries) {
                throw new TarFormatException(
                        source
                                + ": the image has more than "
                                + maxEntries
                                + " tar entries; refused to protect memory");
            }
            applyEntry(e, reader);
        }
        // the tar may be followed by padding (and a gzip trailer); read it so wrapping checks see
        // the end
        tar.transferTo(java.io.OutputStream.nullOutputStream());
    }

    /** Waits for every body, then returns the finished tree (with digests and nlinks). */
    public Directory finish() throws IOException {
        Map<RegularFile, Digest> digests = new IdentityHashMap<>();
        for (Map.Entry<RegularFile, CompletableFuture<Digest>> p : pending.entrySet()) {
            digests.put(p.getKey(), await(p.getValue()));
        }
        pending.clear();
        Map<Inode, Integer> names = new IdentityHashMap<>();
        countNames(root, names);
        Map<Inode, Inode> done = new IdentityHashMap<>();
        rewrite(root, digests, names, done);
        return root;
    }

    /** Stops using the builder after a failure: waits until no worker is still writing a body. */
    public void abort() {
        for (CompletableFuture<Digest> f : pending.values()) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | CancellationException e) {
                // already failing; the first error is what the caller reports
            }
        }
        pending.clear();
    }

    /** Stops parsing at the next entry once any body failed (checked per entry, so O(1)). */
    private void failFast() throws IOException {
        CompletableFuture<Digest> f = firstFailure.get();
        if (f != null) {
            await(f);
        }
    }

    private static Digest await(CompletableFuture<Digest> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException(
                    "interrupted while waiting for file bodies to be stored");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(c);
        }
    }

    private void applyEntry(TarEntry e, TarReader reader) throws IOException {
        List<byte[]> path = normalise(e.name(), e);
        if (path.isEmpty()) {
            if (e.type() != dev.kcfs.oci.tar.TarEntryType.DIRECTORY) {
                throw error(e, "names the root directory but is a " + e.type());
            }
            root.setStat(stat(e, FileType.DIRECTORY));
            root.setXattrs(xattrs(e));
            return;
        }
        byte[] leaf = path.get(path.size() - 1);
        if (startsWith(leaf, WH_PREFIX)) {
            // a whiteout never creates directories: if its parent is not there, there is nothing to
            // hide
            Directory parent = walk(path, e, false);
            if (parent != null) {
                whiteout(parent, leaf);
            }
            return;
        }
        Directory parent = walk(path, e, true);
        Inode existing = parent.child(leaf);
        Inode created;
        switch (e.type()) {
            case DIRECTORY:
                if (existing instanceof Directory d) {
                    d.setStat(stat(e, FileType.DIRECTORY));
                    d.setXattrs(xattrs(e));
                    touched.add(d);
                    return;
                }
                created = new Directory(stat(e, FileType.DIRECTORY), xattrs(e));
                break;
            case REGULAR:
                created = regular(e, reader);
                break;
            case SYMLINK:
                if (e.linkName().length == 0) {
                    throw error(e, "is a symlink with an empty target");
                }
                created = new Symlink(stat(e, FileType.SYMLINK), xattrs(e), e.linkName());
                break;
            case HARDLINK:
                created = hardlinkTarget(e);
                if (created == existing) {
                    return; // a link to itself: nothing to do
                }
                break;
            case CHAR_DEVICE:
                created =
                        new DeviceNode(
                                stat(e, FileType.CHAR_DEVICE),
                                xattrs(e),
                                DeviceNode.makedev(e.devMajor(), e.devMinor()));
                break;
            case BLOCK_DEVICE:
                created =
                        new DeviceNode(
                                stat(e, FileType.BLOCK_DEVICE),
                                xattrs(e),
                                DeviceNode.makedev(e.devMajor(), e.devMinor()));
                break;
            case FIFO:
                created = new Fifo(stat(e, FileType.FIFO), xattrs(e));
                break;
            default:
                throw error(e, "has an unsupported type " + e.type());
        }
        parent.put(leaf, created);
        touched.add(created);
    }

    private Inode regular(TarEntry e, TarReader reader) throws IOException {
        Stat st = stat(e, FileType.REGULAR);
        List<Xattr> xattrs = xattrs(e);
        long size = e.size();
        bodyBytes += size;
        if (size == 0) {
            return new RegularFile(st, xattrs, 0, null, null, null);
        }
        Digest stored = known.known(reader.offset(), e);
        InputStream body = reader.body();
        if (stored != null && size > INLINE_LIMIT) {
            RegularFile placeholder = new RegularFile(st, xattrs, size, null, null, null);
            pending.put(placeholder, CompletableFuture.completedFuture(stored));
            return placeholder; // the reader skips the body at the next entry
        }
        if (size <= INLINE_LIMIT) {
            byte[] content = body.readNBytes((int) size);
            if (content.length != size) {
                throw error(e, "is truncated");
            }
            return new RegularFile(st, xattrs, size, null, content, null);
        }
        // a placeholder (digest unknown yet); finish() swaps in the real record, keeping hardlink
        // identity
        RegularFile placeholder = new RegularFile(st, xattrs, size, null, null, null);
        CompletableFuture<Digest> digest;
        if (pipeline != null) {
            digest = pipeline.submit(body, size, sink);
        } else {
            digest = CompletableFuture.completedFuture(sink.add(body, size));
            if (reader.remaining() != 0) {
                throw error(e, "was only partly consumed by the object store");
            }
        }
        pending.put(placeholder, digest);
        CompletableFuture<Digest> watched = digest;
        digest.whenComplete(
                (d, failure) -> {
                    if (failure != null) {
                        firstFailure.compareAndSet(null, watched);
                    }
                });
        return placeholder;
    }

    private Inode hardlinkTarget(TarEntry e) throws IOException {
        List<byte[]> target = normalise(e.linkName(), e);
        if (target.isEmpty()) {
            throw error(e, "is a hardlink to the root directory");
        }
        Directory dir = walk(target, e, false);
        Inode t = dir == null ? null : dir.child(target.get(target.size() - 1));
        if (t == null) {
            throw error(
                    e,
                    "is a hardlink to "
                            + e.displayLinkName()
                            + ", which is not in the image (yet)");
        }
        if (t instanceof Directory) {
            throw error(e, "is a hardlink to the directory " + e.displayLinkName());
        }
        return t;
    }

    private void whiteout(Directory parent, byte[] leaf) {
        if (Arrays.equals(leaf, WH_OPAQUE)) {
            pruneLower(parent);
            return;
        }
        if (startsWith(leaf, WH_META_PREFIX)) {
            return; // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
        }
        byte[] name = Arrays.copyOfRange(leaf, WH_PREFIX.length, leaf.length);
        Inode victim = parent.child(name);
        if (victim != null && !touched.contains(victim)) {
            parent.remove(name);
        }
    }

    /** Removes everything below {@code dir} that this layer did not write. */
    private void pruneLower(Directory dir) {
        List<byte[]> drop = new ArrayList<>();
        for (Map.Entry<byte[], Inode> c : dir.children().entrySet()) {
            if (!touched.contains(c.getValue())) {
                drop.add(c.getKey());
            } else if (c.getValue() instanceof Directory d) {
                pruneLower(d);
            }
        }
        for (byte[] name : drop) {
            dir.remove(name);
        }
    }

    /**
     * The directory that holds the last component of {@code path}. With {@code create}, missing
     * directories are made; without, null is returned if one is missing.
     */
    private Directory walk(List<byte[]> path, TarEntry e, boolean create)
            throws TarFormatException {
        Directory dir = root;
        for (int i = 0; i < path.size() - 1; i++) {
            byte[] name = path.get(i);
            Inode next = dir.child(name);
            if (next == null) {
                if (!create) {
                    return null;
                }
                Directory made = new Directory(DEFAULT_DIR, List.of());
                dir.put(name, made);
                next = made;
            }
            if (next instanceof Symlink) {
                throw error(
                        e,
                        "goes through the symlink "
                                + join(path, i + 1)
                                + " (refused: entries below a symlink could escape the tree)");
            }
            if (!(next instanceof Directory)) {
                throw error(e, "goes through " + join(path, i + 1) + ", which is not a directory");
            }
            if (create) {
                touched.add(next);
            }
            dir = (Directory) next;
        }
        return dir;
    }

    private List<byte[]> normalise(byte[] raw, TarEntry e) throws TarFormatException {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= raw.length; i++) {
            if (i == raw.length || raw[i] == '/') {
                int len = i - start;
                if (len == 2 && raw[start] == '.' && raw[start + 1] == '.') {
                    throw error(
                            e,
                            "has a '..' component in "
                                    + new String(raw, StandardCharsets.ISO_8859_1)
                                    + " (refused: it could escape the image root)");
                }
                if (len > 0 && !(len == 1 && raw[start] == '.')) {
                    out.add(Arrays.copyOfRange(raw, start, i));
                }
                start = i + 1;
            }
        }
        return out;
    }

    private static Stat stat(TarEntry e, FileType type) {
        return new Stat(type.bits() | e.mode(), e.uid(), e.gid(), 1, e.mtimeSec(), e.mtimeNsec());
    }

    private static List<Xattr> xattrs(TarEntry e) {
        if (e.xattrs().isEmpty()) {
            return List.of();
        }
        TreeMap<byte[], Xattr> byName = new TreeMap<>(Arrays::compareUnsigned);
        for (Xattr x : e.xattrs()) {
            byName.put(x.name(), x);
        }
        return List.copyOf(byName.values());
    }

    private static void countNames(Directory dir, Map<Inode, Integer> names) {
        for (Inode c : dir.children().values()) {
            names.merge(c, 1, Integer::sum);
            if (c instanceof Directory d) {
                countNames(d, names);
            }
        }
    }

    private static void rewrite(
            Directory dir,
            Map<RegularFile, Digest> digests,
            Map<Inode, Integer> names,
            Map<Inode, Inode> done) {
        dir.setStat(dir.stat().withNlink(2 + dir.subdirectoryCount()));
        for (Directory.Entry c : dir.entries()) {
            Inode old = c.inode();
            if (old instanceof Directory d) {
                rewrite(d, digests, names, done);
                continue;
            }
            Inode fresh = done.get(old);
            if (fresh == null) {
                fresh = withNlink(old, names.get(old), digests.get(old));
                done.put(old, fresh);
            }
            dir.put(c.name(), fresh);
        }
    }

    private static Inode withNlink(Inode i, long nlink, Digest digest) {
        Stat s = i.stat().withNlink(nlink);
        if (i instanceof RegularFile f) {
            if (digest != null) {
                return new RegularFile(
                        s, f.xattrs(), f.size(), digest.objectPathBytes(), null, digest);
            }
            return f.withStat(s);
        }
        if (i instanceof Symlink l) {
            return new Symlink(s, l.xattrs(), l.target());
        }
        if (i instanceof DeviceNode d) {
            return new DeviceNode(s, d.xattrs(), d.rdev());
        }
        if (i instanceof Fifo f) {
            return new Fifo(s, f.xattrs());
        }
        Socket so = (Socket) i;
        return new Socket(s, so.xattrs());
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        return b.length >= prefix.length
                && Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static String join(List<byte[]> path, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append('/').append(new String(path.get(i), StandardCharsets.ISO_8859_1));
        }
        return sb.toString();
    }

    private TarFormatException error(TarEntry e, String what) {
        return new TarFormatException(source + ": entry " + e.displayName() + " " + what);
    }
}
