package dev.kcfs.store;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.FileCalls;
import dev.kcfs.linux.LibC;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerityHasher;
import dev.kcfs.verity.KernelVerity;
import dev.kcfs.verity.VerityException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A content-addressed directory of file bodies, {@code ab/cdef…} named by their fs-verity digest
 * (docs/format.md, 'Object names'), usable as an overlayfs data-only layer.
 *
 * <p>Guarantee, also across crashes: a file under a digest name always has exactly the content
 * that digest names, and an existing object is never rewritten. Objects are written to a private
 * session directory in the temporary area, made durable, and only then renamed into place with
 * {@code RENAME_NOREPLACE}.
 *
 * <p>Speed: upstream fsyncs every object, which costs one journal commit per file. A {@link Batch}
 * instead makes all its temporaries durable at once: one {@code syncfs} for large batches (or one
 * fsync per file for small ones, where syncfs would also flush unrelated dirty data), then renames,
 * then one fsync per touched {@code ab/} directory.
 *
 * <p>Thread-safe; several instances and processes may share one directory.
 */
public final class ObjectDirectory {
    /** Up to this many new objects a commit fsyncs each file; above it one syncfs is cheaper. */
    static final int DEFAULT_FSYNC_EACH_LIMIT = 16;

    private static final int STREAM_BUFFER = 256 * 1024;

    private final Path root;

    /** {@code root + "/"} as the bytes the kernel takes, for building object paths per call. */
    private final byte[] rootSlash;

    private final Scratch scratch;
    private final KernelVerity verity;
    private final int fsyncEachLimit;

    /** Threads fsyncing concurrently in a commit below the limit (journal commits get shared). */
    private final int syncThreads;

    /** Prefix directories this instance has seen (and made durable) already. */
    private final Set<String> knownPrefixes = ConcurrentHashMap.newKeySet();

    /** Where committed objects are recorded by sha256, or null (a plain digest store for other tools). */
    private volatile Sha256Index index;

    // Capabilities detected on first use; per instance (one filesystem), not static.
    private volatile boolean verityUnsupported;
    private volatile boolean reflinkUnsupported;
    private volatile boolean copyRangeUnsupported;

    private ObjectDirectory(
            Path root, Scratch scratch, KernelVerity verity, int fsyncEachLimit, int syncThreads) {
        this.root = root;
        this.rootSlash = FileCalls.cPath(root);
        this.rootSlash[rootSlash.length - 1] = '/'; // the NUL becomes the separator
        this.scratch = scratch;
        this.verity = verity;
        this.fsyncEachLimit = fsyncEachLimit;
        this.syncThreads = syncThreads;
    }

    /**
     * Opens (creating if needed) an object directory. {@code tmpDir} must be on the same filesystem
     * (renames move objects into place); leftovers of crashed writers there are removed when no
     * other writer is active.
     */
    public static ObjectDirectory open(Path dir, Path tmpDir) throws StoreException {
        return open(dir, tmpDir, new KernelVerity(), DEFAULT_FSYNC_EACH_LIMIT);
    }

    static ObjectDirectory open(Path dir, Path tmpDir, KernelVerity verity, int fsyncEachLimit)
            throws StoreException {
        return open(dir, tmpDir, verity, fsyncEachLimit, 1);
    }

    static ObjectDirectory open(
            Path dir, Path tmpDir, KernelVerity verity, int fsyncEachLimit, int syncThreads)
            throws StoreException {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                Durability.fsync(dir.toAbsolutePath().getParent());
            }
        } catch (IOException e) {
            throw new StoreException(
                    "cannot create object directory " + dir + ": " + e.getMessage(), e);
        }
        Scratch scratch = Scratch.open(tmpDir);
        Object devObjects;
        Object devTmp;
        try {
            devObjects = Files.getAttribute(dir, "unix:dev");
            devTmp = Files.getAttribute(tmpDir, "unix:dev");
        } catch (IOException e) {
            throw new StoreException(
                    "cannot stat " + dir + " or " + tmpDir + ": " + e.getMessage(), e);
        }
        if (!devObjects.equals(devTmp)) {
            throw new StoreException(
                    "object directory "
                            + dir
                            + " and temporary directory "
                            + tmpDir
                            + " are on different filesystems; objects are moved into place by rename, so put both on the same filesystem");
        }
        return new ObjectDirectory(dir, scratch, verity, fsyncEachLimit, syncThreads);
    }

    public Path root() {
        return root;
    }

    /**
     * From now on every committed object (and every object a batch found already present) is
     * recorded in {@code index} by its sha256.
     */
    void useIndex(Sha256Index index) {
        this.index = index;
    }

    /** The sha256 index, or null when this directory keeps none. */
    public Sha256Index index() {
        return index;
    }

    /** Where the object with this digest lives (whether or not it exists). */
    public Path path(Digest digest) {
        return root.resolve(digest.objectPath());
    }

    /**
     * Whether the object exists. One {@code faccessat} on bytes: the NIO call it replaces built
     * and threw an exception for every missing object, i.e. for every object a new store gets.
     */
    public boolean contains(Digest digest) {
        return FileCalls.faccessat(
                        LibC.AT_FDCWD, objectCPath(digest), LibC.F_OK, LibC.AT_SYMLINK_NOFOLLOW)
                == 0;
    }

    /** {@link #path} as NUL-terminated bytes. */
    private byte[] objectCPath(Digest digest) {
        return objectCPath(digest.objectPathBytes());
    }

    /** The object path bytes {@code ab/cdef…} under this directory, NUL-terminated. */
    private byte[] objectCPath(byte[] rel) {
        byte[] out = Arrays.copyOf(rootSlash, rootSlash.length + rel.length + 1);
        System.arraycopy(rel, 0, out, rootSlash.length, rel.length);
        return out;
    }

    /** False once enabling fs-verity on an object returned "unsupported" (kernel or filesystem). */
    public boolean verityAvailable() {
        return !verityUnsupported;
    }

    /** Removes leftovers of crashed writers if no writer is active; -1 if some are. */
    public int cleanTemporaries() throws StoreException {
        return scratch.cleanIfIdle();
    }

    /**
     * Removes the temporary directory itself when no writer is active (see {@link Scratch#removeIfIdle});
     * for object directories other tools read too. A later batch creates it again.
     */
    public boolean removeTemporaryDirectory() throws StoreException {
        return scratch.removeIfIdle();
    }

    public Batch batch() throws StoreException {
        return new Batch(scratch.session("objects-"));
    }

    /** What a commit did. */
    public record Committed(int added, int alreadyPresent) {}

    /**
     * A set of objects made durable and visible together by {@link #commit()}. Adding is thread-safe;
     * {@link #close()} without commit discards everything added.
     */
    public final class Batch implements AutoCloseable {
        private final Scratch.Session session;
        private final Map<Digest, Path> pending = new ConcurrentHashMap<>();

        /** The sha256 of every object added or found present, for the index (only with one). */
        private final Map<Digest, byte[]> sha256 = new ConcurrentHashMap<>();

        private final AtomicLong names = new AtomicLong();

        /**
         * Each adding thread creates its temporaries in a subdirectory of its own: creating a file
         * takes its directory's lock, and threads sharing one directory queued there (a third of
         * the CPU of a two-thread {@code --digest-store} run, issue 13).
         */
        private final Map<Thread, Path> lanes = new ConcurrentHashMap<>();

        private final AtomicInteger laneNumbers = new AtomicInteger();

        private final AtomicInteger skipped = new AtomicInteger();

        /** Adds hold the read side so commit (write side) sees no half-added object. */
        private final ReentrantReadWriteLock phase = new ReentrantReadWriteLock();

        private boolean finished;

        private Batch(Scratch.Session session) {
            this.session = session;
        }

        /**
         * Copies {@code source}, whose fs-verity digest the caller already computed, into the batch.
         * The digest is trusted (fsck finds a wrong one); the copy uses a reflink where the
         * filesystem allows, else copy_file_range, else read/write. Returns false if the object
         * already exists or is already in this batch (nothing is copied then).
         */
        public boolean addFile(Path source, Digest knownDigest) throws StoreException {
            return addFile(source, knownDigest, null);
        }

        /**
         * As {@link #addFile(Path, Digest)}, for a caller that also holds the file's whole content
         * in {@code body} (from position to limit; not consumed): where no reflink is possible the
         * object is written from memory rather than copied from {@code source}, which saves opening
         * and reading the source again. A reflink, where the filesystem has them, shares the
         * source's blocks and is tried first.
         */
        public boolean addFile(Path source, Digest knownDigest, ByteBuffer body)
                throws StoreException {
            return add(knownDigest, body, body != null && reflinkUnsupported ? null : source);
        }

        /**
         * Writes {@code body} (position to limit, not consumed), whose fs-verity digest the caller
         * already computed, into the batch; as {@link #addFile(Path, Digest)} otherwise.
         */
        public boolean addBody(ByteBuffer body, Digest knownDigest) throws StoreException {
            return add(knownDigest, body, null);
        }

        /** Copies {@code copyFrom}, or when it is null writes {@code body}. */
        private boolean add(Digest knownDigest, ByteBuffer body, Path copyFrom)
                throws StoreException {
            phase.readLock().lock();
            try {
                checkOpen();
                if (contains(knownDigest) || pending.containsKey(knownDigest)) {
                    // its index entry was made when it was added (fsck makes those older kcfs did
                    // not)
                    skipped.incrementAndGet();
                    return false;
                }
                Path temp = newTempName();
                if (pending.putIfAbsent(knownDigest, temp) != null) {
                    skipped.incrementAndGet();
                    return false;
                }
                try {
                    if (copyFrom != null) {
                        copy(copyFrom, temp);
                    } else {
                        write(body, temp);
                    }
                    if (index != null) {
                        sha256.put(knownDigest, body != null ? sha256Of(body) : sha256Of(temp));
                    }
                    enableVerity(temp);
                } catch (StoreException | RuntimeException e) {
                    pending.remove(knownDigest);
                    deleteQuietly(temp);
                    throw e;
                }
                return true;
            } finally {
                phase.readLock().unlock();
            }
        }

        /** Writes the stream (to its end, not closed) into the batch, hashing as it goes; returns its digest. */
        public Digest addStream(InputStream body) throws StoreException {
            phase.readLock().lock();
            try {
                checkOpen();
                Path temp = newTempName();
                Digest digest;
                MessageDigest sha = index != null ? newSha256() : null;
                try {
                    digest = writeHashing(body, temp, sha);
                } catch (IOException e) {
                    deleteQuietly(temp);
                    throw new StoreException(
                            "cannot write object to " + temp + ": " + e.getMessage(), e);
                }
                if (sha != null) {
                    sha256.putIfAbsent(digest, sha.digest());
                }
                if (contains(digest) || pending.putIfAbsent(digest, temp) != null) {
                    skipped.incrementAndGet();
                    deleteQuietly(temp);
                    return digest;
                }
                enableVerity(temp);
                return digest;
            } finally {
                phase.readLock().unlock();
            }
        }

        /** Hashes the file while copying it; for callers that have no digest yet. */
        public Digest addFile(Path source) throws StoreException {
            try (InputStream in = Files.newInputStream(source)) {
                return addStream(in);
            } catch (StoreException e) {
                throw e;
            } catch (IOException e) {
                throw new StoreException("cannot read " + source + ": " + e.getMessage(), e);
            }
        }

        /** Objects waiting for commit. */
        public int size() {
            return pending.size();
        }

        /**
         * Makes every added object durable, then moves it into place, then makes the directory
         * entries durable. When this returns, all objects survive a crash. An object that appeared
         * meanwhile (another writer) is kept and the batch's copy dropped.
         */
        public Committed commit() throws StoreException {
            phase.writeLock().lock();
            try {
                checkOpen();
                finished = true;
                List<Map.Entry<Digest, Path>> items = new ArrayList<>(pending.entrySet());
                if (items.isEmpty()) {
                    recordInIndex();
                    return new Committed(0, skipped.get());
                }
                if (items.size() <= fsyncEachLimit) {
                    fsyncAll(items);
                } else {
                    Durability.syncFilesystem(session.dir());
                }
                int added = 0;
                int present = skipped.get();
                Set<String> touched = new TreeSet<>();
                Set<String> created = new HashSet<>();
                for (Map.Entry<Digest, Path> item : items) {
                    byte[] rel = item.getKey().objectPathBytes();
                    String prefix = new String(rel, 0, 2, StandardCharsets.US_ASCII);
                    if (!knownPrefixes.contains(prefix) && created.add(prefix)) {
                        ensureDirectory(root.resolve(prefix));
                    }
                    if (Durability.publishNoReplace(
                            FileCalls.cPath(item.getValue()), objectCPath(rel))) {
                        added++;
                        touched.add(prefix);
                    } else {
                        present++;
                    }
                }
                for (String prefix : touched) {
                    Durability.fsync(root.resolve(prefix));
                }
                if (!created.isEmpty()) {
                    Durability.fsync(root);
                    // only now are these prefix directories known to be durable
                    knownPrefixes.addAll(created);
                }
                pending.clear();
                // only now are the objects durable and in place: the index may point at them
                recordInIndex();
                return new Committed(added, present);
            } finally {
                phase.writeLock().unlock();
            }
        }

        /** Deletes all temporaries; objects committed stay. */
        @Override
        public void close() throws StoreException {
            phase.writeLock().lock();
            try {
                finished = true;
                pending.clear();
                session.close();
            } finally {
                phase.writeLock().unlock();
            }
        }

        private void recordInIndex() {
            Sha256Index idx = index;
            if (idx != null) {
                sha256.forEach((digest, sha) -> idx.put(sha, digest));
            }
            sha256.clear();
        }

        private void checkOpen() {
            if (finished) {
                throw new IllegalStateException(
                        "batch already committed or closed; start a new batch");
            }
        }

        private Path newTempName() throws StoreException {
            Thread thread = Thread.currentThread();
            Path lane = lanes.get(thread);
            if (lane == null) {
                // numbered per batch: a thread id may be reused once its thread has ended
                lane = session.dir().resolve("t" + laneNumbers.incrementAndGet());
                try {
                    Files.createDirectory(lane);
                } catch (IOException e) {
                    throw new StoreException(
                            "cannot create temporary directory " + lane + ": " + e.getMessage(), e);
                }
                lanes.put(thread, lane);
            }
            return lane.resolve("o" + names.incrementAndGet());
        }
    }

    private void fsyncAll(List<Map.Entry<Digest, Path>> items) throws StoreException {
        if (syncThreads <= 1 || items.size() < 2) {
            for (Map.Entry<Digest, Path> item : items) {
                Durability.fsync(item.getValue());
            }
            return;
        }
        java.util.concurrent.ExecutorService pool =
                java.util.concurrent.Executors.newFixedThreadPool(
                        Math.min(syncThreads, items.size()));
        try {
            List<java.util.concurrent.Future<Object>> done = new ArrayList<>();
            for (Map.Entry<Digest, Path> item : items) {
                done.add(
                        pool.submit(
                                () -> {
                                    Durability.fsync(item.getValue());
                                    return null;
                                }));
            }
            for (java.util.concurrent.Future<Object> f : done) {
                f.get();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof StoreException se
                    ? se
                    : new StoreException("fsync failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted while making objects durable");
        } finally {
            pool.shutdownNow();
        }
    }

    private void copy(Path source, Path temp) throws StoreException {
        int in;
        try {
            in =
                    FileCalls.open(
                            FileCalls.cPath(source),
                            LibC.O_RDONLY | LibC.O_CLOEXEC | LibC.O_NOFOLLOW);
        } catch (LastErrorException e) {
            throw new StoreException(
                    Errno.describe(
                            "cannot open " + source + " to copy it into the object store", e));
        }
        boolean copied = false;
        try {
            int out = createTemporary(temp);
            try {
                copied = reflink(in, out) || copyRange(in, out, source, temp);
            } finally {
                closeWritten(out, temp);
            }
        } finally {
            FileCalls.close(in);
        }
        if (!copied) {
            copyPlain(source, temp);
        }
    }

    /** Writes {@code body} (position to limit, not consumed) as the new file {@code temp}. */
    private static void write(ByteBuffer body, Path temp) throws StoreException {
        if (!body.isDirect()) {
            // a heap buffer has no native address; the scanner's buffers are all direct
            body = ByteBuffer.allocateDirect(body.remaining()).put(body.duplicate()).flip();
        }
        int out = createTemporary(temp);
        try {
            long address = FileCalls.address(body) + body.position();
            long left = body.remaining();
            while (left > 0) {
                long n;
                try {
                    n = FileCalls.write(out, address, left);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Errno.EINTR) {
                        continue;
                    }
                    throw new StoreException(Errno.describe("cannot write object to " + temp, e));
                }
                address += n;
                left -= n;
            }
        } finally {
            closeWritten(out, temp);
        }
    }

    private static int createTemporary(Path temp) throws StoreException {
        try {
            return FileCalls.open(
                    FileCalls.cPath(temp),
                    LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC,
                    0644);
        } catch (LastErrorException e) {
            throw new StoreException(Errno.describe("cannot create temporary object " + temp, e));
        }
    }

    /** A failed close of a written file may have lost data (NFS, quotas): it fails the add. */
    private static void closeWritten(int fd, Path temp) throws StoreException {
        try {
            FileCalls.close(fd);
        } catch (LastErrorException e) {
            throw new StoreException(Errno.describe("cannot finish writing " + temp, e));
        }
    }

    private boolean reflink(int in, int out) {
        if (reflinkUnsupported) {
            return false;
        }
        try {
            LibC.INSTANCE.ioctl(out, new NativeLong(LibC.FICLONE), new NativeLong(in));
            return true;
        } catch (LastErrorException e) {
            // EOPNOTSUPP/ENOTTY: the filesystem cannot share extents; EXDEV: different filesystems;
            // EINVAL: e.g. a filesystem type mismatch. All repeat for every file of this store,
            // and a failed call with its exception costs more than a copy of a small file.
            reflinkUnsupported = true;
            return false;
        }
    }

    /** Returns false if nothing was copied and the plain copy should be used. */
    private boolean copyRange(int in, int out, Path source, Path temp) throws StoreException {
        if (copyRangeUnsupported) {
            return false;
        }
        long chunk = 1L << 30;
        long total = 0;
        while (true) {
            long n;
            try {
                n = FileCalls.copy_file_range(in, 0, out, 0, chunk, 0);
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (total == 0 && (errno == Errno.EXDEV || errno == Errno.ENOSYS)) {
                    copyRangeUnsupported = true; // as upstream: never again in this run
                    return false;
                }
                if (total == 0
                        && (errno == Errno.EOPNOTSUPP
                                || errno == Errno.EPERM
                                || errno == Errno.EINVAL
                                || errno == Errno.EBADF)) {
                    return false; // this file only (e.g. a special filesystem source)
                }
                if (errno == Errno.EINTR) {
                    continue;
                }
                throw new StoreException(
                        Errno.describe("cannot copy " + source + " to " + temp, e));
            }
            if (n == 0) {
                return true;
            }
            total += n;
        }
    }

    private static void copyPlain(Path source, Path temp) throws StoreException {
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                FileChannel out =
                        FileChannel.open(
                                temp,
                                StandardOpenOption.WRITE,
                                StandardOpenOption.TRUNCATE_EXISTING)) {
            long size = in.size();
            long pos = 0;
            while (pos < size) {
                long n = in.transferTo(pos, size - pos, out);
                if (n <= 0) {
                    break;
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new StoreException(
                    "cannot copy " + source + " to " + temp + ": " + e.getMessage(), e);
        }
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static byte[] sha256Of(ByteBuffer body) {
        MessageDigest sha = newSha256();
        sha.update(body.duplicate());
        return sha.digest();
    }

    private static byte[] sha256Of(Path file) throws StoreException {
        MessageDigest sha = newSha256();
        byte[] buf = new byte[STREAM_BUFFER];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new StoreException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return sha.digest();
    }

    private static Digest writeHashing(InputStream body, Path temp, MessageDigest sha)
            throws IOException {
        FsVerityHasher hasher = new FsVerityHasher();
        byte[] buf = new byte[STREAM_BUFFER];
        try (FileChannel out =
                FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            int n;
            while ((n = body.readNBytes(buf, 0, buf.length)) > 0) {
                hasher.update(buf, 0, n);
                if (sha != null) {
                    sha.update(buf, 0, n);
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    out.write(bb);
                }
            }
        }
        return hasher.digest();
    }

    private void enableVerity(Path temp) {
        if (verityUnsupported) {
            return;
        }
        try {
            if (verity.enable(temp) == KernelVerity.Enable.UNSUPPORTED) {
                verityUnsupported = true;
            }
        } catch (VerityException e) {
            // like upstream: an object without verity is still a correct object; mounts that
            // require verity report the missing verity themselves
        }
    }

    private static void ensureDirectory(Path dir) throws StoreException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StoreException("cannot create directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // the session directory removal or the next cleaning gets it
        }
    }
}
