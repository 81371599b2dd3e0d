package dev.kcfs.scan;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.kcfs.linux.Errno;
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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
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

    /**
     * Read size for hashing: 256 KiB heap buffers were as fast as any larger or direct buffer on a
     * 1 GiB file (bench/cli.md) while the JDK's temporary direct buffer and ours still fit in L2.
     */
    private static final int HASH_READ = 256 * 1024;

    /** How far (in files) prefetching may run ahead of hashing. */
    private static final int PREFETCH_FILES = 64;

    /** Larger files are read ahead by the kernel anyway once hashing reads them sequentially. */
    private static final long PREFETCH_MAX_BYTES = 8L << 20;

    /** Linux's XATTR_LIST_MAX and XATTR_SIZE_MAX: no name list or value is longer. */
    private static final int XATTR_MAX = 65536;

    private static final String ATTRIBUTES = "unix:mode,uid,gid,rdev,size,lastModifiedTime";
    private static final byte[] USER_PREFIX = "user.".getBytes(StandardCharsets.US_ASCII);

    /** Directory iteration can only return names in the JVM's file name encoding; see {@link #nameBytes}. */
    private static final boolean UTF8_FILE_NAMES =
            "UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"));

    /**
     * What to keep from the source.
     *
     * @param useEpoch       set every mtime to 0.0 ({@code --use-epoch})
     * @param skipDevices    leave out character and block devices, whiteouts included ({@code --skip-devices})
     * @param skipXattrs     leave out all xattrs ({@code --skip-xattrs})
     * @param userXattrsOnly keep only {@code user.*} xattrs ({@code --user-xattrs})
     * @param threads        hashing threads, at least 1
     * @param prefetch       read files into the page cache a little ahead of the hashers (as many
     *                       reader threads as hashers): on a cold cache /usr took 21 s instead of
     *                       28 s, on a warm one it costs ~5 % more CPU (bench/cli.md)
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
        void accept(ExternalFile file) throws IOException;
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
        private final ThreadLocal<Hashing> hashing = ThreadLocal.withInitial(Hashing::new);
        private final List<PendingFile> pending = new ArrayList<>();
        private final List<Directory> directories = new ArrayList<>();
        private final ExternalFileSink sink;
        private ExecutorService pool;
        private ExecutorService prefetchPool;
        private boolean prefetching;

        /** Files the prefetchers may read ahead of the hashers (see {@link #prefetch}). */
        private final Semaphore prefetchWindow = new Semaphore(PREFETCH_FILES);

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
            prefetchPool =
                    options.prefetch()
                            ? Executors.newFixedThreadPool(
                                    options.threads(),
                                    r -> {
                                        Thread t =
                                                new Thread(
                                                        r,
                                                        "kcfs-prefetch-"
                                                                + threadNo.incrementAndGet());
                                        t.setDaemon(true);
                                        return t;
                                    })
                            : null;
            prefetching = options.prefetch();
            try {
                Map<String, Object> attrs;
                try {
                    attrs = Files.readAttributes(root, ATTRIBUTES);
                } catch (IOException e) {
                    throw new ScanException(
                            root + ": cannot read the source directory: " + problem(e), e);
                }
                int mode = (Integer) attrs.get("mode");
                if (FileType.of(mode) != FileType.DIRECTORY) {
                    throw new ScanException(root + ": not a directory");
                }
                byte[] rootBytes = pathBytes(root);
                Directory rootDir =
                        new Directory(stat(attrs, mode), xattrs(root, cString(rootBytes)));
                directories.add(rootDir);
                Deque<DirectoryToScan> todo = new ArrayDeque<>();
                todo.push(new DirectoryToScan(root, rootBytes, rootDir));
                while (!todo.isEmpty() && !failed) {
                    scanDirectory(todo.pop(), todo);
                }
                if (failed) {
                    // report the failure itself, not whatever finished first
                    for (PendingFile p : pending) {
                        if (p.result.isDone()) {
                            await(p);
                        }
                    }
                }
                List<ExternalFile> external = new ArrayList<>(pending.size());
                for (PendingFile p : pending) {
                    RegularFile file = await(p);
                    p.parent.put(p.name, file);
                    external.add(new ExternalFile(p.source, file.digest(), file.size()));
                }
                for (Directory d : directories) {
                    d.setStat(d.stat().withNlink(2L + d.subdirectoryCount()));
                }
                return new Scan(rootDir, List.copyOf(external));
            } finally {
                pool.shutdownNow();
                if (prefetchPool != null) {
                    prefetchPool.shutdownNow();
                }
                listBuf.close();
                valueBuf.close();
            }
        }

        /**
         * Pulls a file into the page cache shortly before a hasher reads it, so that on a cold
         * cache the disk sees more than one request per hashing thread: {@code posix_fadvise
         * (WILLNEED)} starts the reads and returns; on pages already cached it costs almost
         * nothing (the {@code sendfile} to /dev/null used before cost ~10 % of a warm scan's CPU).
         * Failures are ignored: the hasher reports them.
         */
        private void prefetch(byte[] cPath, long size) {
            try {
                prefetchWindow.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            try {
                int fd =
                        ScanCalls.open(
                                cPath,
                                ScanCalls.O_RDONLY | ScanCalls.O_NOFOLLOW | ScanCalls.O_CLOEXEC);
                try {
                    ScanCalls.posix_fadvise(
                            fd,
                            0,
                            Math.min(size, PREFETCH_MAX_BYTES),
                            ScanCalls.POSIX_FADV_WILLNEED);
                } finally {
                    ScanCalls.close(fd);
                }
            } catch (RuntimeException e) {
                // the hasher will meet the same problem and report it
            }
        }

        private RegularFile await(PendingFile p) throws IOException {
            try {
                return p.result.get();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof ScanException s) {
                    throw s;
                }
                if (c instanceof SinkFailure f) {
                    throw (IOException) f.getCause();
                }
                if (c instanceof IOException io) {
                    throw new ScanException(p.source + ": cannot read file: " + problem(io), io);
                }
                throw new ScanException(p.source + ": hashing failed: " + c, c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ScanException(p.source + ": interrupted while hashing", e);
            } catch (CancellationException e) {
                throw new ScanException(p.source + ": hashing was cancelled", e);
            }
        }

        private void scanDirectory(DirectoryToScan dir, Deque<DirectoryToScan> todo)
                throws ScanException {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir.path)) {
                for (Path child : entries) {
                    byte[] name = nameBytes(child);
                    byte[] childBytes = concat(dir.pathBytes, name);
                    Inode inode = scanEntry(child, childBytes, name, dir, todo);
                    if (inode != null) {
                        dir.node.put(name, inode);
                    }
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
        }

        /** Returns the inode to add now, or null when it is skipped or added later (hashed files). */
        private Inode scanEntry(
                Path child,
                byte[] childBytes,
                byte[] name,
                DirectoryToScan parent,
                Deque<DirectoryToScan> todo)
                throws ScanException {
            Map<String, Object> attrs;
            try {
                attrs = Files.readAttributes(child, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new ScanException(child + ": cannot stat: " + problem(e), e);
            }
            int mode = (Integer) attrs.get("mode");
            FileType type = FileType.of(mode);
            if (type == null) {
                throw new ScanException(
                        child + ": unknown file type in mode " + Integer.toOctalString(mode));
            }
            if (options.skipDevices()
                    && (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE)) {
                return null;
            }
            Stat stat = stat(attrs, mode);
            byte[] cPath = cString(childBytes);
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
                        long size = (Long) attrs.get("size");
                        if (size == 0) {
                            return new RegularFile(stat, xattrs, 0, null, null, null);
                        }
                        if (size <= INLINE_MAX) {
                            return new RegularFile(
                                    stat, xattrs, size, null, readSmall(child, (int) size), null);
                        }
                        if (prefetching) {
                            prefetchPool.execute(() -> prefetch(cPath, size));
                        }
                        Future<RegularFile> f =
                                pool.submit(
                                        () -> {
                                            try {
                                                return hash(child, stat, xattrs, size);
                                            } catch (IOException | RuntimeException e) {
                                                failed = true;
                                                throw e;
                                            } finally {
                                                if (prefetching) {
                                                    prefetchWindow.release();
                                                }
                                            }
                                        });
                        pending.add(new PendingFile(parent.node, name, child, f));
                        return null;
                    }
                case SYMLINK:
                    return new Symlink(stat, xattrs, readlink(child, cPath));
                case CHAR_DEVICE:
                case BLOCK_DEVICE:
                    return new DeviceNode(stat, xattrs, (Long) attrs.get("rdev"));
                case FIFO:
                    return new Fifo(stat, xattrs);
                case SOCKET:
                    return new Socket(stat, xattrs);
                default:
                    throw new ScanException(child + ": unsupported file type " + type);
            }
        }

        private Stat stat(Map<String, Object> attrs, int mode) {
            long uid = Integer.toUnsignedLong((Integer) attrs.get("uid"));
            long gid = Integer.toUnsignedLong((Integer) attrs.get("gid"));
            if (options.useEpoch()) {
                return new Stat(mode, uid, gid, 1, 0, 0);
            }
            Instant mtime = ((FileTime) attrs.get("lastModifiedTime")).toInstant();
            return new Stat(mode, uid, gid, 1, mtime.getEpochSecond(), mtime.getNano());
        }

        private byte[] readSmall(Path file, int size) throws ScanException {
            try (FileChannel ch =
                    FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.allocate(size + 1);
                while (ch.read(buf) >= 0 && buf.hasRemaining()) {
                    // keep reading: short reads are allowed
                }
                if (buf.position() != size) {
                    throw new ScanException(
                            file
                                    + ": file changed while scanning (size was "
                                    + size
                                    + ", read "
                                    + buf.position()
                                    + (buf.hasRemaining() ? "" : "+")
                                    + " bytes)");
                }
                return Arrays.copyOf(buf.array(), size);
            } catch (ScanException e) {
                throw e;
            } catch (IOException e) {
                throw new ScanException(file + ": cannot read file: " + problem(e), e);
            }
        }

        /** Runs on a hashing thread. */
        private RegularFile hash(Path file, Stat stat, List<Xattr> xattrs, long size)
                throws IOException {
            Hashing h = hashing.get();
            Digest digest;
            long read;
            try (FileChannel ch =
                    FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                digest = FsVerity.digest(ch, h.hasher, h.buffer);
                read = ch.position();
            }
            if (read != size) {
                throw new ScanException(
                        file
                                + ": file changed while scanning (size was "
                                + size
                                + ", read "
                                + read
                                + " bytes)");
            }
            if (sink != null) {
                try {
                    sink.accept(new ExternalFile(file, digest, size));
                } catch (IOException e) {
                    throw new SinkFailure(e);
                }
            }
            return new RegularFile(
                    stat,
                    xattrs,
                    size,
                    digest.objectPath().getBytes(StandardCharsets.US_ASCII),
                    null,
                    digest);
        }

        private List<Xattr> xattrs(Path file, byte[] cPath) throws ScanException {
            if (options.skipXattrs()) {
                return List.of();
            }
            int listLen;
            try {
                listLen = (int) ScanCalls.llistxattr(cPath, listBuf, XATTR_MAX);
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
                int n = (int) ScanCalls.lgetxattr(cPath, cName, valueBuf, XATTR_MAX);
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
                int n = (int) ScanCalls.readlink(cPath, linkBuf, linkBuf.length);
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
        final ByteBuffer buffer = ByteBuffer.allocate(HASH_READ);
    }

    /** Marks a sink's own failure so it is passed on unchanged rather than blamed on reading. */
    private static final class SinkFailure extends IOException {
        private static final long serialVersionUID = 1L;

        SinkFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private record DirectoryToScan(Path path, byte[] pathBytes, Directory node) {}

    private record PendingFile(
            Directory parent, byte[] name, Path source, Future<RegularFile> result) {}

    /**
     * The exact bytes of a directory entry's name. NIO keeps the raw bytes inside the Path but
     * only shows them decoded; a name that is not valid in the file name encoding decodes with
     * replacement characters, so for those (rare) names the bytes come from {@link Path#toUri()},
     * which percent-encodes the raw bytes.
     */
    static byte[] nameBytes(Path child) {
        String s = child.getFileName().toString();
        if (UTF8_FILE_NAMES && s.indexOf('\uFFFD') < 0) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        byte[] full = rawBytes(child.toUri().getRawPath());
        int end = full.length;
        if (end > 1 && full[end - 1] == '/') {
            end--; // toUri marks directories with a trailing slash
        }
        int start = end;
        while (start > 0 && full[start - 1] != '/') {
            start--;
        }
        return Arrays.copyOfRange(full, start, end);
    }

    /** The exact bytes of a path as the kernel sees it (relative paths stay relative when possible). */
    static byte[] pathBytes(Path p) {
        String s = p.toString();
        if (UTF8_FILE_NAMES && s.indexOf('\uFFFD') < 0) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        byte[] full = rawBytes(p.toAbsolutePath().toUri().getRawPath());
        int end = full.length;
        if (end > 1 && full[end - 1] == '/') {
            end--;
        }
        return Arrays.copyOf(full, end);
    }

    /** A Path for exact name bytes: the inverse of {@link #pathBytes}. */
    public static Path pathOf(byte[] bytes) {
        if (UTF8_FILE_NAMES) {
            String s = new String(bytes, StandardCharsets.UTF_8);
            if (Arrays.equals(s.getBytes(StandardCharsets.UTF_8), bytes)) {
                return Path.of(s);
            }
        }
        boolean absolute = bytes.length > 0 && bytes[0] == '/';
        Path base = absolute ? Path.of("/") : Path.of("").toAbsolutePath();
        StringBuilder uri = new StringBuilder("file://").append(base.toUri().getRawPath());
        if (uri.charAt(uri.length() - 1) != '/') {
            uri.append('/');
        }
        for (int i = absolute ? 1 : 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            if ((b >= 'a' && b <= 'z')
                    || (b >= 'A' && b <= 'Z')
                    || (b >= '0' && b <= '9')
                    || b == '/'
                    || b == '-'
                    || b == '.'
                    || b == '_'
                    || b == '~') {
                uri.append((char) b);
            } else {
                uri.append('%')
                        .append(Character.forDigit(b >> 4, 16))
                        .append(Character.forDigit(b & 15, 16));
            }
        }
        return Path.of(java.net.URI.create(uri.toString()));
    }

    /** Decodes the percent escapes of a raw URI path into bytes. */
    private static byte[] rawBytes(String rawPath) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(rawPath.length());
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c == '%' && i + 2 < rawPath.length()) {
                out.write(Integer.parseInt(rawPath.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                // unescaped characters of a raw URI path are ASCII
                out.write(c);
            }
        }
        return out.toByteArray();
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

    private static byte[] cString(byte[] bytes) {
        return Arrays.copyOf(bytes, bytes.length + 1);
    }

    private static boolean startsWith(byte[] a, byte[] prefix) {
        return a.length >= prefix.length
                && Arrays.equals(a, 0, prefix.length, prefix, 0, prefix.length);
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
