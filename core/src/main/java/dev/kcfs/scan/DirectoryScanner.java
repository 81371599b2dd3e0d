package dev.kcfs.scan;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.FileCalls;
import dev.kcfs.linux.LibC;
import dev.kcfs.linux.PathBytes;
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
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.FsVerityHasher;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds a {@link Directory} tree from a directory on disk with the semantics of upstream
 * {@code mkcomposefs SRC_DIR} (docs/format.md, 'Building from a directory'):
 * <ul>
 *   <li>every entry is {@code lstat}ed (symlinks are never followed below the root);</li>
 *   <li>hardlinks are <em>not</em> detected: every path is its own inode and non-directories get
 *       nlink 1, which keeps images byte-identical with upstream's;</li>
 *   <li>xattrs of every namespace ({@code trusted.}, {@code security.}, {@code user.}, ...) are read
 *       with {@code llistxattr}/{@code lgetxattr}, since NIO only reaches {@code user.};</li>
 *   <li>regular files of 1..64 bytes are inlined; larger ones get their fs-verity digest (computed
 *       in parallel by {@link Options#threads()} workers) and payload {@code ab/cdef…}.</li>
 * </ul>
 * File names are kept as the exact bytes found on disk, UTF-8 or not.
 */
public final class DirectoryScanner {
    /** Files up to this many bytes are stored inside the image (upstream's rule). */
    public static final int INLINE_MAX = 64;

    /** A hashing task takes this many files, or fewer when they add up to {@link #BATCH_BYTES}. */
    private static final int BATCH_FILES = 32;

    private static final long BATCH_BYTES = 16L << 20;

    private static final int OPEN_FLAGS = LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC;

    /** Larger files are read ahead by the kernel anyway once hashing reads them sequentially. */
    private static final long PREFETCH_MAX_BYTES = 8L << 20;

    /** Linux's XATTR_LIST_MAX and XATTR_SIZE_MAX: no name list or value is longer. */
    private static final int XATTR_MAX = 65536;

    private static final String ATTRIBUTES = "unix:mode,uid,gid,rdev,size,lastModifiedTime";
    private static final byte[] USER_PREFIX = "user.".getBytes(StandardCharsets.US_ASCII);

    /**
     * What to keep from the source.
     *
     * @param useEpoch       set every mtime to 0.0 ({@code --use-epoch})
     * @param skipDevices    leave out character and block devices, whiteouts included ({@code --skip-devices})
     * @param skipXattrs     leave out all xattrs ({@code --skip-xattrs})
     * @param userXattrsOnly keep only {@code user.*} xattrs ({@code --user-xattrs})
     * @param threads        hashing threads, at least 1
     * @param prefetch       ask the kernel to read each batch of files ahead before hashing them
     *                       ({@code posix_fadvise WILLNEED}), so that a cold disk sees many
     *                       requests at once (bench/cli.md); on a warm cache it costs little
     */
    public record Options(
            boolean useEpoch,
            boolean skipDevices,
            boolean skipXattrs,
            boolean userXattrsOnly,
            int threads,
            boolean prefetch) {
        public Options {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            }
        }

        /** Everything kept; one hashing thread per available processor. */
        public static Options defaults() {
            return new Options(
                    false, false, false, false, Runtime.getRuntime().availableProcessors(), true);
        }

        public Options withUseEpoch(boolean v) {
            return new Options(v, skipDevices, skipXattrs, userXattrsOnly, threads, prefetch);
        }

        public Options withSkipDevices(boolean v) {
            return new Options(useEpoch, v, skipXattrs, userXattrsOnly, threads, prefetch);
        }

        public Options withSkipXattrs(boolean v) {
            return new Options(useEpoch, skipDevices, v, userXattrsOnly, threads, prefetch);
        }

        public Options withUserXattrsOnly(boolean v) {
            return new Options(useEpoch, skipDevices, skipXattrs, v, threads, prefetch);
        }

        public Options withThreads(int n) {
            return new Options(useEpoch, skipDevices, skipXattrs, userXattrsOnly, n, prefetch);
        }

        public Options withPrefetch(boolean v) {
            return new Options(useEpoch, skipDevices, skipXattrs, userXattrsOnly, threads, v);
        }
    }

    /** A file whose body lives outside the image: copy {@code source} to the object store as {@code digest}. */
    public record ExternalFile(Path source, Digest digest, long size) {}

    /**
     * Receives each external file as soon as it is hashed, on a hashing thread (so must be
     * thread-safe): lets an object store copy the body while it is still in the page cache.
     */
    @FunctionalInterface
    public interface ExternalFileSink {
        /**
         * @param body the file's whole content when the scanner read it in one piece (most files;
         *             up to {@link FsVerity#readBuffer()}'s size), positioned at 0 with the size as
         *             limit; the scanner reuses it after the call returns. Null for larger files:
         *             read {@code file.source()} then.
         */
        void accept(ExternalFile file, ByteBuffer body) throws IOException;
    }

    /** The tree, and the external files in scan order (one entry per path; equal digests repeat). */
    public record Scan(Directory root, List<ExternalFile> externalFiles) {}

    private final Options options;

    public DirectoryScanner(Options options) {
        this.options = options;
    }

    public Options options() {
        return options;
    }

    /** Scans {@code root} (a directory; a symlink to one is followed) into a tree. */
    public Scan scan(Path root) throws ScanException {
        try {
            return new Walk(null).run(root);
        } catch (ScanException e) {
            throw e;
        } catch (IOException e) {
            throw new ScanException(
                    root + ": " + e.getMessage(), e); // only sinks throw other IOExceptions
        }
    }

    /**
     * Scans {@code root}, handing every external file to {@code sink} (may be null) as soon as it is
     * hashed. A sink failure fails the scan with the sink's exception.
     */
    public Scan scan(Path root, ExternalFileSink sink) throws IOException {
        return new Walk(sink).run(root);
    }

    /** One scan: its buffers (used by the walking thread only) and its hashing pool. */
    private final class Walk {
        /*
         * Native buffers sized to the kernel's limits (XATTR_LIST_MAX, XATTR_SIZE_MAX), so ERANGE
         * cannot happen and JNA copies nothing but the bytes actually returned.
         */
        private final Memory listBuf = new Memory(XATTR_MAX);
        private final Memory valueBuf = new Memory(XATTR_MAX);
        private byte[] list = new byte[256];
        private final byte[] linkBuf = new byte[4097];

        /** statx(2)'s answer, read in place; also the read buffer of inline files. */
        private final ByteBuffer statBuf =
                ByteBuffer.allocateDirect(FileCalls.STATX_SIZE).order(ByteOrder.nativeOrder());

        private final long statAddress = FileCalls.address(statBuf);
        private final ThreadLocal<Hashing> hashing = ThreadLocal.withInitial(Hashing::new);
        private final List<PendingFile> pending = new ArrayList<>();
        private final List<HashBatch> batches = new ArrayList<>();
        private HashBatch batch = new HashBatch();
        private final List<Directory> directories = new ArrayList<>();
        private final ExternalFileSink sink;
        private ExecutorService pool;

        /** Set by a hashing thread that failed, so the walk stops early instead of finishing a doomed scan. */
        private volatile boolean failed;

        Walk(ExternalFileSink sink) {
            this.sink = sink;
        }

        Scan run(Path root) throws IOException {
            AtomicInteger threadNo = new AtomicInteger();
            pool =
                    Executors.newFixedThreadPool(
                            options.threads(),
                            r -> {
                                Thread t = new Thread(r, "kcfs-hash-" + threadNo.incrementAndGet());
                                t.setDaemon(true);
                                return t;
                            });
            try {
                byte[] rootBytes = PathBytes.of(root);
                byte[] rootC = FileCalls.cPath(rootBytes);
                Attributes attrs =
                        attributes(root, rootC, true, "cannot read the source directory");
                if (FileType.of(attrs.mode) != FileType.DIRECTORY) {
                    throw new ScanException(root + ": not a directory");
                }
                Directory rootDir = new Directory(stat(attrs), xattrs(root, rootC));
                directories.add(rootDir);
                Deque<DirectoryToScan> todo = new ArrayDeque<>();
                todo.push(new DirectoryToScan(root, rootBytes, rootDir));
                while (!todo.isEmpty() && !failed) {
                    scanDirectory(todo.pop(), todo);
                }
                submitBatch();
                for (HashBatch b : batches) {
                    b.await();
                }
                // the first failure in scan order, whichever finished first
                for (PendingFile p : pending) {
                    if (p.error != null) {
                        throw p.error instanceof SinkFailure f
                                ? (IOException) f.getCause()
                                : p.error;
                    }
                }
                List<ExternalFile> external = new ArrayList<>(pending.size());
                for (PendingFile p : pending) {
                    p.parent.put(p.name, p.file);
                    external.add(new ExternalFile(p.source, p.file.digest(), p.file.size()));
                }
                for (Directory d : directories) {
                    d.setStat(d.stat().withNlink(2L + d.subdirectoryCount()));
                }
                return new Scan(rootDir, List.copyOf(external));
            } finally {
                pool.shutdownNow();
                listBuf.close();
                valueBuf.close();
            }
        }

        private void submitBatch() {
            if (!batch.files.isEmpty()) {
                batch.done = pool.submit(batch);
                batches.add(batch);
                batch = new HashBatch();
            }
        }

        /**
         * Files hashed by one task of the pool, in order. Handing the hashers files in batches
         * rather than one by one saves a wake-up, a future and a queue hand-off per file (about a
         * tenth of a warm /usr/share scan's CPU, issue 13). The batch first opens all of its files
         * and, when prefetching, asks the kernel to read them ahead ({@code posix_fadvise
         * WILLNEED}: it starts the reads and returns; on cached pages it costs almost nothing), so
         * that on a cold cache the disk sees a whole batch of requests per hashing thread rather
         * than one.
         */
        private final class HashBatch implements Runnable {
            final List<PendingFile> files = new ArrayList<>(BATCH_FILES);
            long bytes;
            Future<?> done;

            boolean full() {
                return files.size() >= BATCH_FILES || bytes >= BATCH_BYTES;
            }

            @Override
            public void run() {
                Hashing h = hashing.get();
                for (PendingFile p : files) {
                    try {
                        p.fd = FileCalls.open(p.cPath, OPEN_FLAGS);
                        if (options.prefetch()) {
                            FileCalls.posix_fadvise(
                                    p.fd,
                                    0,
                                    Math.min(p.size, PREFETCH_MAX_BYTES),
                                    LibC.POSIX_FADV_WILLNEED);
                        }
                    } catch (LastErrorException e) {
                        p.error =
                                new ScanException(
                                        p.source + ": cannot read file: " + problem(e), e);
                        failed = true;
                    }
                }
                for (PendingFile p : files) {
                    if (p.fd < 0) {
                        continue;
                    }
                    try {
                        if (!failed) {
                            p.file = hash(p, h);
                        }
                    } catch (ScanException | SinkFailure e) {
                        p.error = e;
                        failed = true;
                    } catch (RuntimeException e) {
                        p.error = new ScanException(p.source + ": hashing failed: " + e, e);
                        failed = true;
                    } finally {
                        closeQuietly(p.fd);
                        p.fd = -1;
                    }
                }
            }

            void await() throws ScanException {
                try {
                    done.get();
                } catch (ExecutionException e) {
                    throw new ScanException("hashing failed: " + e.getCause(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ScanException("interrupted while hashing", e);
                } catch (CancellationException e) {
                    throw new ScanException("hashing was cancelled", e);
                }
            }
        }

        private void scanDirectory(DirectoryToScan dir, Deque<DirectoryToScan> todo)
                throws ScanException {
            // in name order, so that each child is appended to its Directory (see there)
            List<Listed> listed = new ArrayList<>();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir.path)) {
                for (Path child : entries) {
                    listed.add(new Listed(PathBytes.name(child), child));
                }
            } catch (DirectoryIteratorException e) {
                throw new ScanException(
                        dir.path + ": cannot list directory: " + problem(e.getCause()),
                        e.getCause());
            } catch (IOException e) {
                if (e instanceof ScanException s) {
                    throw s;
                }
                throw new ScanException(dir.path + ": cannot list directory: " + problem(e), e);
            }
            listed.sort(Listed.BY_NAME);
            for (Listed l : listed) {
                byte[] childBytes = concat(dir.pathBytes, l.name);
                Inode inode = scanEntry(l.path, childBytes, l.name, dir, todo);
                if (inode != null) {
                    dir.node.put(l.name, inode);
                }
            }
        }

        /**
         * Returns the inode to add now, or null when it is skipped. A hashed file is added as it
         * is (without digest) and replaced once hashed.
         */
        private Inode scanEntry(
                Path child,
                byte[] childBytes,
                byte[] name,
                DirectoryToScan parent,
                Deque<DirectoryToScan> todo)
                throws ScanException {
            byte[] cPath = FileCalls.cPath(childBytes);
            Attributes attrs = attributes(child, cPath, false, "cannot stat");
            int mode = attrs.mode;
            FileType type = FileType.of(mode);
            if (type == null) {
                throw new ScanException(
                        child + ": unknown file type in mode " + Integer.toOctalString(mode));
            }
            if (options.skipDevices()
                    && (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE)) {
                return null;
            }
            Stat stat = stat(attrs);
            List<Xattr> xattrs = xattrs(child, cPath);
            switch (type) {
                case DIRECTORY:
                    {
                        Directory d = new Directory(stat, xattrs);
                        directories.add(d);
                        todo.push(new DirectoryToScan(child, childBytes, d));
                        return d;
                    }
                case REGULAR:
                    {
                        long size = attrs.size;
                        if (size == 0) {
                            return new RegularFile(stat, xattrs, 0, null, null, null);
                        }
                        if (size <= INLINE_MAX) {
                            return new RegularFile(
                                    stat,
                                    xattrs,
                                    size,
                                    null,
                                    readSmall(child, cPath, (int) size),
                                    null);
                        }
                        PendingFile p =
                                new PendingFile(
                                        parent.node, name, child, cPath, stat, xattrs, size);
                        pending.add(p);
                        batch.files.add(p);
                        batch.bytes += size;
                        if (batch.full()) {
                            submitBatch();
                        }
                        return new RegularFile(stat, xattrs, size, null, null, null);
                    }
                case SYMLINK:
                    return new Symlink(stat, xattrs, readlink(child, cPath));
                case CHAR_DEVICE:
                case BLOCK_DEVICE:
                    return new DeviceNode(stat, xattrs, attrs.rdev);
                case FIFO:
                    return new Fifo(stat, xattrs);
                case SOCKET:
                    return new Socket(stat, xattrs);
                default:
                    throw new ScanException(child + ": unsupported file type " + type);
            }
        }

        /**
         * {@code statx} of a path ({@code follow}: through a symlink), read from native memory in
         * place: a fraction of NIO's attribute map per entry. statx's layout is the same on every
         * architecture. A filesystem that does not fill in every field asked for is read through
         * NIO instead. A failure is reported as "FILE: WHAT: problem".
         */
        private Attributes attributes(Path file, byte[] cPath, boolean follow, String what)
                throws ScanException {
            try {
                FileCalls.statx(
                        LibC.AT_FDCWD,
                        cPath,
                        follow ? 0 : LibC.AT_SYMLINK_NOFOLLOW,
                        FileCalls.STATX_NEEDED,
                        statAddress);
            } catch (LastErrorException e) {
                throw new ScanException(file + ": " + what + ": " + problem(e), e);
            }
            ByteBuffer b = statBuf;
            if ((b.getInt(FileCalls.STX_MASK) & FileCalls.STATX_NEEDED) == FileCalls.STATX_NEEDED) {
                return new Attributes(
                        b.getShort(FileCalls.STX_MODE) & 0xffff,
                        Integer.toUnsignedLong(b.getInt(FileCalls.STX_UID)),
                        Integer.toUnsignedLong(b.getInt(FileCalls.STX_GID)),
                        DeviceNode.makedev(
                                Integer.toUnsignedLong(b.getInt(FileCalls.STX_RDEV_MAJOR)),
                                Integer.toUnsignedLong(b.getInt(FileCalls.STX_RDEV_MINOR))),
                        b.getLong(FileCalls.STX_SIZE),
                        b.getLong(FileCalls.STX_MTIME),
                        b.getInt(FileCalls.STX_MTIME + 8));
            }
            try {
                Map<String, Object> a =
                        follow
                                ? Files.readAttributes(file, ATTRIBUTES)
                                : Files.readAttributes(file, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                Instant mtime = ((FileTime) a.get("lastModifiedTime")).toInstant();
                return new Attributes(
                        (Integer) a.get("mode"),
                        Integer.toUnsignedLong((Integer) a.get("uid")),
                        Integer.toUnsignedLong((Integer) a.get("gid")),
                        (Long) a.get("rdev"),
                        (Long) a.get("size"),
                        mtime.getEpochSecond(),
                        mtime.getNano());
            } catch (IOException e) {
                throw new ScanException(file + ": " + what + ": " + problem(e), e);
            }
        }

        private Stat stat(Attributes a) {
            if (options.useEpoch()) {
                return new Stat(a.mode, a.uid, a.gid, 1, 0, 0);
            }
            return new Stat(a.mode, a.uid, a.gid, 1, a.mtimeSec, a.mtimeNsec);
        }

        /** An inline file's bytes (at most {@link #INLINE_MAX}), read on the walking thread. */
        private byte[] readSmall(Path file, byte[] cPath, int size) throws ScanException {
            int fd;
            try {
                fd = FileCalls.open(cPath, OPEN_FLAGS);
            } catch (LastErrorException e) {
                throw new ScanException(file + ": cannot read file: " + problem(e), e);
            }
            try {
                long got = readFully(file, fd, statAddress, size + 1L, size);
                if (got != size) {
                    throw changed(file, size, got, got > size);
                }
                byte[] out = new byte[size];
                statBuf.get(0, out);
                return out;
            } finally {
                closeQuietly(fd);
            }
        }

        /** Runs on a hashing thread. */
        private RegularFile hash(PendingFile p, Hashing h) throws ScanException, SinkFailure {
            FsVerityHasher hasher = h.hasher.reset();
            ByteBuffer buf = h.buffer;
            long read = 0;
            while (true) {
                // one byte more than the rest stat promised, so that a grown file shows
                long want = Math.min(buf.capacity(), p.size - read + 1);
                long n = readFully(p.source, p.fd, h.address, want, p.size - read);
                if (n > 0) {
                    hasher.update(buf.clear().limit((int) n));
                    read += n;
                }
                if (read > p.size) {
                    throw changed(p.source, p.size, read, true);
                }
                if (n < want) {
                    break;
                }
            }
            if (read != p.size) {
                throw changed(p.source, p.size, read, false);
            }
            Digest digest = hasher.digest();
            if (sink != null) {
                ByteBuffer body = read < buf.capacity() ? buf.clear().limit((int) read) : null;
                try {
                    sink.accept(new ExternalFile(p.source, digest, p.size), body);
                } catch (IOException e) {
                    throw new SinkFailure(e);
                }
            }
            return new RegularFile(
                    p.stat, p.xattrs, p.size, digest.objectPathBytes(), null, digest);
        }

        private List<Xattr> xattrs(Path file, byte[] cPath) throws ScanException {
            if (options.skipXattrs()) {
                return List.of();
            }
            int listLen;
            try {
                listLen = (int) FileCalls.llistxattr(cPath, listBuf, XATTR_MAX);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EOPNOTSUPP) {
                    return List.of(); // the filesystem has no xattrs at all
                }
                throw new ScanException(file + ": " + Errno.describe("cannot list xattrs", e), e);
            }
            if (listLen == 0) {
                return List.of();
            }
            if (list.length < listLen) {
                list = new byte[Math.max(listLen, 2 * list.length)];
            }
            listBuf.read(0, list, 0, listLen);
            List<Xattr> out = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < listLen; i++) {
                if (list[i] != 0) {
                    continue;
                }
                byte[] name = Arrays.copyOfRange(list, start, i);
                byte[] cName = Arrays.copyOfRange(list, start, i + 1);
                start = i + 1;
                if (options.userXattrsOnly() && !startsWith(name, USER_PREFIX)) {
                    continue;
                }
                byte[] value = getxattr(file, cPath, name, cName);
                if (value != null) {
                    out.add(new Xattr(name, value));
                }
            }
            out.sort(Xattr.BY_NAME);
            return out;
        }

        /** The value, or null if the xattr vanished between list and get. */
        private byte[] getxattr(Path file, byte[] cPath, byte[] name, byte[] cName)
                throws ScanException {
            try {
                int n = (int) FileCalls.lgetxattr(cPath, cName, valueBuf, XATTR_MAX);
                return valueBuf.getByteArray(0, n);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.ENODATA) {
                    return null;
                }
                throw new ScanException(
                        file
                                + ": "
                                + Errno.describe(
                                        "cannot read xattr "
                                                + new String(name, StandardCharsets.UTF_8),
                                        e),
                        e);
            }
        }

        private byte[] readlink(Path file, byte[] cPath) throws ScanException {
            try {
                int n = (int) FileCalls.readlink(cPath, linkBuf, linkBuf.length);
                if (n >= linkBuf.length) {
                    throw new ScanException(file + ": symlink target longer than 4096 bytes");
                }
                return Arrays.copyOf(linkBuf, n);
            } catch (LastErrorException e) {
                throw new ScanException(file + ": " + Errno.describe("cannot read symlink", e), e);
            }
        }
    }

    /** Per hashing thread: one hasher and one read buffer, reused for every file. */
    private static final class Hashing {
        final FsVerityHasher hasher = new FsVerityHasher();
        final ByteBuffer buffer = FsVerity.readBuffer();
        final long address = FileCalls.address(buffer);
    }

    /** What a scan keeps of an entry's {@code statx}. */
    private record Attributes(
            int mode, long uid, long gid, long rdev, long size, long mtimeSec, int mtimeNsec) {}

    /**
     * Reads until {@code want} bytes or end of file into native memory; returns the count. A short
     * read that ends at exactly {@code expected} bytes (the size stat gave) is taken as the end:
     * a regular file's read returns less than asked only at its end, and this saves the read that
     * would return 0 (one syscall per file of a scan). Reads of regular files are not interrupted
     * by signals, but are retried on EINTR all the same.
     */
    private static long readFully(Path file, int fd, long address, long want, long expected)
            throws ScanException {
        long got = 0;
        while (got < want && !(got == expected && got > 0)) {
            long n;
            try {
                n = FileCalls.read(fd, address + got, want - got);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) {
                    continue;
                }
                throw new ScanException(file + ": cannot read file: " + problem(e), e);
            }
            if (n == 0) {
                break;
            }
            got += n;
        }
        return got;
    }

    /** Closes a file the scan only read: a failed close loses nothing. */
    private static void closeQuietly(int fd) {
        try {
            FileCalls.close(fd);
        } catch (LastErrorException e) {
            // read-only: nothing was lost
        }
    }

    private static ScanException changed(Path file, long size, long read, boolean more) {
        return new ScanException(
                file
                        + ": file changed while scanning (size was "
                        + size
                        + ", read "
                        + read
                        + (more ? "+" : "")
                        + " bytes)");
    }

    /** Marks a sink's own failure so it is passed on unchanged rather than blamed on reading. */
    private static final class SinkFailure extends IOException {
        private static final long serialVersionUID = 1L;

        SinkFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private record DirectoryToScan(Path path, byte[] pathBytes, Directory node) {}

    /** A directory entry as listed. */
    private record Listed(byte[] name, Path path) {
        static final Comparator<Listed> BY_NAME = (a, b) -> Arrays.compareUnsigned(a.name, b.name);
    }

    /** A file handed to the hashers; its result or error is read after its batch is done. */
    private static final class PendingFile {
        final Directory parent;
        final byte[] name;
        final Path source;
        final byte[] cPath;
        final Stat stat;
        final List<Xattr> xattrs;
        final long size;
        int fd = -1;
        RegularFile file;
        IOException error;

        PendingFile(
                Directory parent,
                byte[] name,
                Path source,
                byte[] cPath,
                Stat stat,
                List<Xattr> xattrs,
                long size) {
            this.parent = parent;
            this.name = name;
            this.source = source;
            this.cPath = cPath;
            this.stat = stat;
            this.xattrs = xattrs;
            this.size = size;
        }
    }

    private static byte[] concat(byte[] dir, byte[] name) {
        boolean slash = dir.length > 0 && dir[dir.length - 1] == '/';
        byte[] out = new byte[dir.length + (slash ? 0 : 1) + name.length];
        System.arraycopy(dir, 0, out, 0, dir.length);
        if (!slash) {
            out[dir.length] = '/';
        }
        System.arraycopy(name, 0, out, out.length - name.length, name.length);
        return out;
    }

    private static boolean startsWith(byte[] a, byte[] prefix) {
        return a.length >= prefix.length
                && Arrays.equals(a, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** A C library call's failure in the words {@link #problem(Throwable)} uses for NIO's. */
    static String problem(LastErrorException e) {
        return switch (e.getErrorCode()) {
            case Errno.ENOENT -> "no such file or directory";
            case Errno.EACCES -> "permission denied";
            default -> {
                String text = Errno.text(e.getErrorCode());
                yield Character.toLowerCase(text.charAt(0))
                        + text.substring(1)
                        + " (errno "
                        + e.getErrorCode()
                        + ")";
            }
        };
    }

    /** A short description of an NIO failure (their messages are often just the path). */
    static String problem(Throwable e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        String m = e.getMessage();
        return m != null ? m : e.getClass().getSimpleName();
    }
}
