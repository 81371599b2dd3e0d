package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.FsVerityHasher;
import dev.kcfs.verity.KernelVerity;
import dev.kcfs.verity.VerityException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node store (docs/store.md):
 * <pre>
 * kcfs-store.properties       format version and digest algorithm
 * objects/ab/cdef…            file bodies ({@link ObjectDirectory})
 * images/&lt;hex&gt;.cfs          composefs images, named by their own fs-verity digest
 * images/&lt;hex&gt;.objects      the objects each image refers to ({@link ObjectList})
 * refs/&lt;name&gt;               image name (percent-encoded) -&gt; image digest
 * mounts/&lt;hex&gt;/             mount point of the shared mount of an image; its existence pins the image
 * leases/&lt;id&gt;               who holds a lease (informational; the lock is what counts)
 * quarantine/                 files fsck found with wrong content
 * index/sha256/ab/cdef…       -&gt; the object with that sha256 ({@link Sha256Index}; a cache that fsck rebuilds)
 * tmp/                        partial writes, garbage after a crash
 * gc.lock                     shared by leases and writers, exclusive for GC
 * gc.gate                     held by a GC waiting for leases to end, so new leases wait behind it
 * </pre>
 *
 * <p>Concurrency: every write and every {@link Lease} holds {@code gc.lock} shared; GC holds it
 * exclusively, so it never runs while an import is between "objects added" and "ref set". flock
 * locks work across threads and processes alike.
 */
public final class Store {
    /** The version of the store's own layout and metadata (not a composefs image format version). */
    public static final int STORE_FORMAT = 1;

    public static final String DIGEST_ALGORITHM = "fs-verity-sha256-4096";

    /** The file that makes a directory a store. */
    public static final String META = "kcfs-store.properties";

    private static final String IMAGE_SUFFIX = ".cfs";
    private static final String LIST_SUFFIX = ".objects";

    private final Path root;
    private final ObjectDirectory objects;
    private final Scratch scratch;
    private final Path images;
    private final Path refs;
    private final Path mounts;
    private final Path leases;
    private final Path quarantine;
    private final Path gcLock;
    private final Path gcGate;
    private final ImageObjects reader;
    private final KernelVerity verity = new KernelVerity();

    private Store(Path root, ObjectDirectory objects, Scratch scratch, ImageObjects reader) {
        this.root = root;
        this.objects = objects;
        this.scratch = scratch;
        this.images = root.resolve("images");
        this.refs = root.resolve("refs");
        this.mounts = root.resolve("mounts");
        this.leases = root.resolve("leases");
        this.quarantine = root.resolve("quarantine");
        this.gcLock = root.resolve("gc.lock");
        this.gcGate = root.resolve("gc.gate");
        this.reader = reader;
    }

    /** Opens a store that reads object lists of images without a saved one with the EROFS reader. */
    public static Store open(Path root) throws StoreException {
        return open(root, new ErofsImageObjects());
    }

    /**
     * Opens a store, creating it in an empty or missing directory. Refuses a directory that is
     * neither empty nor a store, and a store of a newer format. Removes leftovers of crashed writers.
     * Creation is atomic and safe when several processes open the same new store at once: the
     * metadata file appears complete or not at all, and whoever comes second opens what the first made.
     */
    public static Store open(Path root, ImageObjects reader) throws StoreException {
        return open(root, reader, true);
    }

    /** Whether {@code root} holds a kcfs store (its metadata file). */
    public static boolean exists(Path root) {
        return Files.isRegularFile(root.toAbsolutePath().resolve(META));
    }

    /**
     * Opens a store that must already exist: for commands that only read or tidy a store, which
     * must not leave a new empty store behind a mistyped path.
     */
    public static Store openExisting(Path root) throws StoreException {
        return open(root, new ErofsImageObjects(), false);
    }

    private static Store open(Path root, ImageObjects reader, boolean create)
            throws StoreException {
        root = root.toAbsolutePath();
        Path meta = root.resolve(META);
        try {
            if (!create && !Files.isRegularFile(meta)) {
                throw new StoreException(
                        "no kcfs store at "
                                + root
                                + (Files.isDirectory(root)
                                        ? " (the directory has no " + META + ")"
                                        : "")
                                + "; pull or add an image to create one");
            }
            Files.createDirectories(root);
            if (!Files.exists(meta)) {
                initialise(root, meta);
            }
            checkMeta(meta);
            removeInitLeftovers(root);
            for (String d :
                    List.of("images", "refs", "mounts", "leases", "quarantine", "index/sha256")) {
                Files.createDirectories(root.resolve(d));
            }
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException("cannot open store " + root + ": " + e.getMessage(), e);
        }
        ObjectDirectory objects =
                ObjectDirectory.open(root.resolve("objects"), root.resolve("tmp"));
        objects.useIndex(new Sha256Index(root.resolve("index/sha256")));
        restrictModes(root);
        return new Store(root, objects, Scratch.open(root.resolve("tmp")), reader);
    }

    /**
     * The store and its directories are for root (or whoever owns it) only: the images' setuid
     * programs and device nodes are in there, and the shared mounts under {@code mounts/} show
     * them (nosuid, but readable). Pods see images through their own binds, never through the store.
     */
    static final Set<PosixFilePermission> DIRECTORY_MODE =
            PosixFilePermissions.fromString("rwx------");

    private static void restrictModes(Path root) throws StoreException {
        for (String d :
                List.of(
                        "",
                        "objects",
                        "images",
                        "refs",
                        "mounts",
                        "leases",
                        "quarantine",
                        "tmp",
                        "index")) {
            Path dir = root.resolve(d);
            try {
                if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                        && !Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)
                                .equals(DIRECTORY_MODE)) {
                    Files.setPosixFilePermissions(dir, DIRECTORY_MODE);
                }
            } catch (IOException e) {
                throw new StoreException(
                        "cannot make "
                                + dir
                                + " private to its owner (mode 0700): "
                                + e.getMessage()
                                + "; open the store as its owner (root)",
                        e);
            }
        }
    }

    /** Temporary metadata files: {@code kcfs-store.properties.*.new}. */
    private static boolean isInitLeftover(String name) {
        return name.startsWith(META + ".") && name.endsWith(".new");
    }

    /**
     * Makes {@code root} a store: the metadata is written to a file of this process's own, made
     * durable, then linked to its final name, which fails if another process got there first (then
     * its metadata stands). A crash leaves either no metadata (and a temporary file that the next
     * open ignores and removes) or complete metadata.
     */
    private static void initialise(Path root, Path meta) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                boolean fresh =
                        name.equals("lost+found")
                                && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                // a concurrent initialiser's files: its temporary metadata, or (once it has won)
                // the store's own
                if (!fresh && !isInitLeftover(name) && !Files.exists(meta)) {
                    throw new StoreException(
                            root
                                    + " is not empty and has no "
                                    + META
                                    + "; it is not a kcfs store. Use an empty directory or an existing store.");
                }
            }
        }
        Properties p = new Properties();
        p.setProperty("format", Integer.toString(STORE_FORMAT));
        p.setProperty("digest", DIGEST_ALGORITHM);
        Path temp = Files.createTempFile(root, META + ".", ".new");
        try {
            try (OutputStream out = Files.newOutputStream(temp)) {
                p.store(out, "kcfs node store; do not edit");
            }
            Durability.fsync(temp);
            Files.createLink(meta, temp);
            Durability.fsync(root);
        } catch (IOException e) {
            if (Files.isRegularFile(meta)) {
                // another process created the store first (and may have removed our temporary as a
                // leftover): its metadata stands, open what it made
                return;
            }
            throw e;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Temporary metadata of initialisers that crashed (once the store exists, no initialiser needs its own any more). */
    private static void removeInitLeftovers(Path root) throws IOException {
        try (DirectoryStream<Path> s =
                Files.newDirectoryStream(root, e -> isInitLeftover(e.getFileName().toString()))) {
            for (Path p : s) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void checkMeta(Path meta) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(meta)) {
            p.load(in);
        }
        int format;
        try {
            format = Integer.parseInt(p.getProperty("format", ""));
        } catch (NumberFormatException e) {
            throw new StoreException(
                    meta + ": no valid 'format' entry; the store metadata is damaged");
        }
        if (format > STORE_FORMAT) {
            throw new StoreException(
                    meta
                            + ": store format "
                            + format
                            + " is newer than this kcfs supports ("
                            + STORE_FORMAT
                            + "); use a newer kcfs");
        }
        if (format < 1) {
            throw new StoreException(meta + ": unknown store format " + format);
        }
        String digest = p.getProperty("digest");
        if (!DIGEST_ALGORITHM.equals(digest)) {
            throw new StoreException(
                    meta
                            + ": the store names objects by '"
                            + digest
                            + "', this kcfs only by '"
                            + DIGEST_ALGORITHM
                            + "'");
        }
    }

    public Path root() {
        return root;
    }

    /** Where fsck moves files whose content does not match their name. */
    public Path quarantineDir() {
        return quarantine;
    }

    public ObjectDirectory objects() {
        return objects;
    }

    // ---------------------------------------------------------------- leases

    /**
     * Holds off GC until closed. Take one around any multi-step change (objects, then image, then
     * ref) so nothing added in between is collected. {@code purpose} shows up in GC reports.
     */
    public Lease lease(String purpose) throws StoreException {
        // pass the gate first: a waiting GC holds it, so a stream of overlapping leases cannot
        // starve GC
        FileLock lock;
        try (FileLock gate = FileLock.shared(gcGate)) {
            lock = FileLock.shared(gcLock);
        }
        // the lock is what holds GC off; the file only tells GC reports who holds it. So a lease
        // whose
        // file cannot be written (a full disk) still holds, and leaves no empty file behind.
        Path file = null;
        try {
            file = Files.createTempFile(leases, "lease-", "");
            Files.writeString(
                    file,
                    "pid "
                            + ProcessHandle.current().pid()
                            + " since "
                            + Instant.now()
                            + ": "
                            + purpose
                            + "\n");
        } catch (IOException e) {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // GC removes stale lease files
                }
            }
            file = null;
        }
        return new Lease(lock, file, purpose);
    }

    public static final class Lease implements AutoCloseable {
        private final FileLock lock;
        private final Path file;
        private final String purpose;

        private Lease(FileLock lock, Path file, String purpose) {
            this.lock = lock;
            this.file = file;
            this.purpose = purpose;
        }

        public String purpose() {
            return purpose;
        }

        @Override
        public void close() {
            try {
                if (file != null) {
                    Files.deleteIfExists(file);
                }
            } catch (IOException e) {
                // a stale lease file is informational only; GC removes it
            } finally {
                lock.close();
            }
        }
    }

    // ---------------------------------------------------------------- images

    public Path imagePath(Digest image) {
        return images.resolve(image.hex() + IMAGE_SUFFIX);
    }

    public boolean hasImage(Digest image) {
        return Files.isRegularFile(imagePath(image), LinkOption.NOFOLLOW_LINKS);
    }

    /** Copies an image file into the store under its fs-verity digest; see {@link #addImage(InputStream, ObjectList)}. */
    public Digest addImage(Path image, ObjectList objectList) throws StoreException {
        try (InputStream in = Files.newInputStream(image)) {
            return addImage(in, objectList);
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException("cannot read image " + image + ": " + e.getMessage(), e);
        }
    }

    /**
     * Adds an image (digest computed while writing) with the list of objects it refers to. The
     * list is written first, so an image is never without one; an existing image is kept.
     * Objects are not required to be present yet (fsck lists images with missing objects).
     */
    public Digest addImage(InputStream image, ObjectList objectList) throws StoreException {
        try (FileLock lock = FileLock.shared(gcLock);
                Scratch.Session session = scratch.session("image-")) {
            Path temp = session.dir().resolve("image");
            FsVerityHasher hasher = new FsVerityHasher();
            try (OutputStream out = Files.newOutputStream(temp)) {
                byte[] buf = new byte[256 * 1024];
                int n;
                while ((n = image.readNBytes(buf, 0, buf.length)) > 0) {
                    hasher.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                throw new StoreException(
                        "cannot write image to " + temp + ": " + e.getMessage(), e);
            }
            Digest digest = hasher.digest();
            Path list = session.dir().resolve("list");
            try {
                Files.write(list, objectList.encode());
            } catch (IOException e) {
                throw new StoreException(
                        "cannot write object list to " + list + ": " + e.getMessage(), e);
            }
            Durability.fsync(temp);
            Durability.fsync(list);
            enableVerity(temp);
            Durability.publishReplace(list, images.resolve(digest.hex() + LIST_SUFFIX));
            Durability.publishNoReplace(temp, imagePath(digest));
            Durability.fsync(images);
            return digest;
        }
    }

    private void enableVerity(Path file) {
        try {
            verity.enable(file);
        } catch (VerityException e) {
            // an image without kernel verity is still correct: pinned digests are then checked in
            // user space
        }
    }

    /** The objects an image refers to: its saved list, else what the image reader finds, else empty. */
    public Optional<ObjectList> objectList(Digest image) throws StoreException {
        Path list = images.resolve(image.hex() + LIST_SUFFIX);
        try {
            return Optional.of(ObjectList.decode(Files.readAllBytes(list), list.toString()));
        } catch (NoSuchFileException e) {
            // fall through to the reader
        } catch (StoreException e) {
            // damaged list: the reader may still know
        } catch (IOException e) {
            throw new StoreException("cannot read " + list + ": " + e.getMessage(), e);
        }
        if (!hasImage(image)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(reader.read(imagePath(image)));
        } catch (IOException e) {
            throw new StoreException(
                    "cannot read the object list of image "
                            + imagePath(image)
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** Digests of all images in the store. */
    public SortedMap<Digest, Path> images() throws StoreException {
        SortedMap<Digest, Path> out = new TreeMap<>();
        for (Path p : list(images)) {
            String name = p.getFileName().toString();
            if (name.endsWith(IMAGE_SUFFIX)) {
                Digest d = parseHex(name.substring(0, name.length() - IMAGE_SUFFIX.length()));
                if (d != null) {
                    out.put(d, p);
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- refs

    /** Longest ref name once encoded as a file name (see {@link #encodeRefName}): the kernel's NAME_MAX. */
    public static final int MAX_REF_FILE_NAME = 255;

    /**
     * What is wrong with {@code name} as a ref name, or null: not empty, no control characters (refs are
     * listed one per line), and short enough to be a file name once encoded. Check it before the work
     * whose result it would name.
     */
    public static String refNameProblem(String name) {
        if (name.isEmpty()) {
            return "a ref name must not be empty";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return "ref name '"
                        + name.replaceAll("\\p{Cntrl}", "?")
                        + "' contains a control character";
            }
        }
        int length = encodeRefName(name).length();
        if (length > MAX_REF_FILE_NAME) {
            return "ref name of "
                    + name.length()
                    + " characters is too long ("
                    + length
                    + " bytes as a file name, at most "
                    + MAX_REF_FILE_NAME
                    + "; characters outside A-Z a-z 0-9 . _ - take 3 bytes each)";
        }
        return null;
    }

    /** Points a name at an image (replacing what it pointed at). The image must be in the store. */
    public void setRef(String name, Digest image) throws StoreException {
        String problem = refNameProblem(name);
        if (problem != null) {
            throw new StoreException("cannot set ref: " + problem);
        }
        Path file = refs.resolve(encodeRefName(name));
        try (FileLock lock = FileLock.shared(gcLock);
                Scratch.Session session = scratch.session("ref-")) {
            if (!hasImage(image)) {
                throw new StoreException(
                        "cannot point ref '"
                                + name
                                + "' at image "
                                + image.hex()
                                + ": it is not in the store "
                                + root
                                + "; add the image first");
            }
            Path temp = session.dir().resolve("ref");
            Files.writeString(temp, image.hex() + "\n", StandardCharsets.US_ASCII);
            Durability.replaceDurably(temp, file);
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException("cannot write ref " + file + ": " + e.getMessage(), e);
        }
    }

    public boolean removeRef(String name) throws StoreException {
        Path file = refs.resolve(encodeRefName(name));
        try {
            boolean removed = Files.deleteIfExists(file);
            if (removed) {
                Durability.fsync(refs);
            }
            return removed;
        } catch (IOException e) {
            throw new StoreException("cannot remove ref " + file + ": " + e.getMessage(), e);
        }
    }

    public Optional<Digest> ref(String name) throws StoreException {
        return readRef(refs.resolve(encodeRefName(name)));
    }

    public SortedMap<String, Digest> refs() throws StoreException {
        SortedMap<String, Digest> out = new TreeMap<>();
        for (Path p : list(refs)) {
            String name = decodeRefName(p.getFileName().toString());
            if (name != null) {
                readRef(p).ifPresent(d -> out.put(name, d));
            }
        }
        return out;
    }

    /** A ref name, or the 64-hex digest of an image in the store. */
    public Digest resolve(String nameOrDigest) throws StoreException {
        Digest d = parseHex(nameOrDigest);
        if (d != null && hasImage(d)) {
            return d;
        }
        Optional<Digest> r = ref(nameOrDigest);
        if (r.isPresent()) {
            return r.get();
        }
        throw new StoreException(
                "'"
                        + nameOrDigest
                        + "' is neither a ref nor the digest of an image in store "
                        + root
                        + "; see `kcfs store refs`");
    }

    private Optional<Digest> readRef(Path file) throws StoreException {
        try {
            return Optional.of(
                    Digest.parse(Files.readString(file, StandardCharsets.US_ASCII).trim()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            throw new StoreException(
                    "ref file "
                            + file
                            + " is damaged ("
                            + e.getMessage()
                            + "); set the ref again or remove it");
        } catch (IOException e) {
            throw new StoreException("cannot read ref " + file + ": " + e.getMessage(), e);
        }
    }

    /** Ref names are image names ("registry/repo:tag"): bytes outside [A-Za-z0-9_.-] and a leading '.' are %XX-encoded. */
    static String encodeRefName(String name) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a ref name must not be empty");
        }
        StringBuilder out = new StringBuilder();
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            int c = bytes[i] & 0xff;
            boolean plain =
                    (c >= 'a' && c <= 'z')
                            || (c >= 'A' && c <= 'Z')
                            || (c >= '0' && c <= '9')
                            || c == '_'
                            || c == '-'
                            || (c == '.' && i > 0);
            if (plain) {
                out.append((char) c);
            } else {
                out.append('%')
                        .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return out.toString();
    }

    static String decodeRefName(String file) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < file.length(); i++) {
            char c = file.charAt(i);
            if (c == '%') {
                if (i + 2 >= file.length()) {
                    return null;
                }
                int hi = Character.digit(file.charAt(i + 1), 16);
                int lo = Character.digit(file.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    return null;
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- mounts

    /** Where the shared mount of an image lives; the directory's existence pins the image against GC. */
    public Path mountPoint(Digest image) {
        return mounts.resolve(image.hex());
    }

    /** Creates the mount point of an image (the in-use record). The image must be in the store. */
    public Path recordMount(Digest image) throws StoreException {
        try (FileLock lock = FileLock.shared(gcLock)) {
            if (!hasImage(image)) {
                throw new StoreException(
                        "image " + image.hex() + " is not in store " + root + "; cannot mount it");
            }
            Path p = mountPoint(image);
            Files.createDirectories(p);
            Files.deleteIfExists(
                    mountNote(image)); // a new record starts without the note of an old one
            Durability.fsync(mounts);
            return p;
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException(
                    "cannot create mount point for "
                            + image.hex()
                            + " in "
                            + mounts
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** Removes the in-use record (and its note) after unmounting; fails (EBUSY/not empty) while still mounted. */
    public void removeMountRecord(Digest image) throws StoreException {
        Path p = mountPoint(image);
        try {
            Files.deleteIfExists(p);
            Files.deleteIfExists(mountNote(image));
        } catch (DirectoryNotEmptyException e) {
            throw new StoreException(
                    p
                            + " is not empty: the image is probably still mounted there; unmount it first",
                    e);
        } catch (IOException e) {
            throw new StoreException(
                    "cannot remove mount record " + p + " (still mounted?): " + e.getMessage(), e);
        }
    }

    /**
     * Keeps a short note with the mount record of an image (the mount package writes how the
     * shared mount was made there); written atomically, removed with the record.
     */
    public void setMountNote(Digest image, String note) throws StoreException {
        Path file = mountNote(image);
        try (Scratch.Session session = scratch.session("note-")) {
            Path temp = session.dir().resolve("note");
            Files.writeString(temp, note + "\n", StandardCharsets.UTF_8);
            Durability.replaceDurably(temp, file);
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The note kept with the mount record of an image, if any. */
    public Optional<String> readMountNote(Digest image) throws StoreException {
        Path file = mountNote(image);
        try {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8).trim());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new StoreException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private Path mountNote(Digest image) {
        return mounts.resolve(image.hex() + ".note");
    }

    /**
     * Serializes changes to shared mounts (create, release) between threads and processes; the
     * mount package holds it while it decides whether a record is in use.
     */
    public Held lockMounts() throws StoreException {
        return FileLock.exclusive(root.resolve("mounts.lock"))::close;
    }

    /** {@link #lockMounts()}, waiting at most {@code wait}; null when another holder kept it that long. */
    public Held lockMounts(Duration wait) throws StoreException {
        FileLock lock = poll(root.resolve("mounts.lock"), System.nanoTime() + wait.toNanos());
        return lock == null ? null : lock::close;
    }

    /** A held lock; closing releases it and cannot fail. */
    @FunctionalInterface
    public interface Held extends AutoCloseable {
        @Override
        void close();
    }

    public Set<Digest> mountRecords() throws StoreException {
        Set<Digest> out = new TreeSet<>();
        for (Path p : list(mounts)) {
            Digest d = parseHex(p.getFileName().toString());
            if (d != null && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                out.add(d);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- gc

    /** What a GC did (or, for a dry run, would do). */
    public record GcReport(
            boolean ran,
            boolean dryRun,
            int imagesRemoved,
            int objectsRemoved,
            long bytesFreed,
            int imagesKept,
            int objectsKept,
            List<String> warnings) {}

    /**
     * Removes images not reachable from a ref or a mount record, then objects no kept image refers
     * to. Waits up to {@code wait} for leases to end; returns {@code ran=false} naming them if they
     * do not. If some kept image has no known object list, no object is removed (said in warnings).
     */
    public GcReport gc(boolean dryRun, Duration wait) throws StoreException {
        return gc(dryRun, wait, Set.of());
    }

    /**
     * {@link #gc(boolean, Duration)}, counting the mount records of {@code releasedMounts} as gone:
     * the caller releases them first, or, for a dry run, would (stale records, unused shared
     * mounts), so a dry run reports what the real run removes.
     */
    public GcReport gc(boolean dryRun, Duration wait, Set<Digest> releasedMounts)
            throws StoreException {
        FileLock lock = acquireExclusive(wait);
        if (lock == null) {
            return new GcReport(
                    false,
                    dryRun,
                    0,
                    0,
                    0,
                    0,
                    0,
                    List.of("leases are held, GC did not run: " + describeLeases()));
        }
        try (lock) {
            List<String> warnings = new ArrayList<>();
            for (Path stale : list(leases)) {
                // with the exclusive lock held, no lease is alive: these are from crashed processes
                deleteQuietly(stale);
            }
            Set<Digest> roots = new TreeSet<>(refs().values());
            for (Digest mounted : mountRecords()) {
                if (!releasedMounts.contains(mounted)) {
                    roots.add(mounted);
                }
            }
            SortedMap<Digest, Path> all = images();
            for (Digest r : roots) {
                if (!all.containsKey(r)) {
                    warnings.add(
                            "image "
                                    + r.hex()
                                    + " is referenced by a ref or mount but missing from the store");
                }
            }
            int imagesRemoved = 0;
            long freed = 0;
            for (Map.Entry<Digest, Path> e : all.entrySet()) {
                if (!roots.contains(e.getKey())) {
                    imagesRemoved++;
                    freed += sizeOf(e.getValue());
                    if (!dryRun) {
                        deleteOrFail(e.getValue());
                        deleteOrFail(images.resolve(e.getKey().hex() + LIST_SUFFIX));
                    }
                }
            }
            // object lists without image (a crash between writing the list and the image)
            for (Path p : list(images)) {
                String n = p.getFileName().toString();
                if (n.endsWith(LIST_SUFFIX)
                        && !dryRun
                        && !Files.exists(
                                images.resolve(
                                        n.substring(0, n.length() - LIST_SUFFIX.length())
                                                + IMAGE_SUFFIX))) {
                    deleteQuietly(p);
                }
            }
            Set<Digest> reachable = new HashSet<>();
            boolean complete = true;
            int imagesKept = 0;
            for (Digest d : roots) {
                if (!all.containsKey(d)) {
                    continue;
                }
                imagesKept++;
                Optional<ObjectList> l;
                try {
                    l = objectList(d);
                } catch (StoreException e) {
                    warnings.add(e.getMessage());
                    l = Optional.empty();
                }
                if (l.isEmpty()) {
                    complete = false;
                    warnings.add(
                            "image "
                                    + d.hex()
                                    + " has no object list and the image reader could not provide one; objects were not collected (run fsck)");
                } else {
                    reachable.addAll(l.get().digests());
                }
            }
            int objectsRemoved = 0;
            int objectsKept = 0;
            for (Path prefix : list(objects.root())) {
                for (Path f : list(prefix)) {
                    Digest d = Digest.fromObjectPath(prefix.getFileName() + "/" + f.getFileName());
                    if (d == null) {
                        warnings.add("not an object (left for fsck): " + f);
                        continue;
                    }
                    if (!complete || reachable.contains(d)) {
                        objectsKept++;
                        continue;
                    }
                    objectsRemoved++;
                    freed += sizeOf(f);
                    if (!dryRun) {
                        deleteOrFail(f);
                    }
                }
            }
            if (!dryRun) {
                // entries whose object just went (or went earlier): a lookup would skip them anyway
                objects.index().sweep(objects::contains);
                scratch.cleanIfIdle();
            }
            return new GcReport(
                    true,
                    dryRun,
                    imagesRemoved,
                    objectsRemoved,
                    freed,
                    imagesKept,
                    objectsKept,
                    List.copyOf(warnings));
        }
    }

    /**
     * Closes the gate to new leases, then waits for the current ones to end. Short writes outside
     * leases (addImage, setRef, recordMount) do not pass the gate: a lease holder may call them.
     */
    private FileLock acquireExclusive(Duration wait) throws StoreException {
        long deadline = System.nanoTime() + wait.toNanos();
        FileLock gate = poll(gcGate, deadline);
        if (gate == null) {
            return null;
        }
        try (gate) {
            return poll(gcLock, deadline);
        }
    }

    private static FileLock poll(Path lockFile, long deadline) throws StoreException {
        while (true) {
            FileLock l = FileLock.tryExclusive(lockFile);
            if (l != null || System.nanoTime() >= deadline) {
                return l;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    private String describeLeases() {
        List<String> out = new ArrayList<>();
        try {
            for (Path p : list(leases)) {
                try {
                    out.add(Files.readString(p).trim());
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        } catch (StoreException e) {
            out.add(e.getMessage());
        }
        return out.isEmpty() ? "(writers without a lease file)" : String.join("; ", out);
    }

    // ---------------------------------------------------------------- fsck

    /** What fsck found; {@code quarantined} files were moved to {@code quarantine/} (unless a dry run). */
    public record FsckReport(
            int objectsChecked,
            int imagesChecked,
            List<Path> quarantined,
            SortedMap<Digest, List<Digest>> missingObjects,
            List<String> problems) {
        public boolean clean() {
            return quarantined.isEmpty() && missingObjects.isEmpty() && problems.isEmpty();
        }
    }

    /**
     * Verifies every object's and image's content against its name (moving bad ones to quarantine
     * unless {@code dryRun}), rebuilds missing object lists where the reader can, and lists images
     * whose objects are missing, refs to missing images, and stray files. Holds a lease, so GC waits.
     */
    public FsckReport fsck(boolean dryRun, int threads) throws StoreException {
        try (Lease lease = lease("fsck")) {
            List<String> problems = Collections.synchronizedList(new ArrayList<>());
            List<Path> quarantined = Collections.synchronizedList(new ArrayList<>());
            List<Path> files = new ArrayList<>();
            for (Path prefix : list(objects.root())) {
                if (!Files.isDirectory(prefix, LinkOption.NOFOLLOW_LINKS)
                        || parsePrefix(prefix.getFileName().toString()) < 0) {
                    problems.add("stray entry in objects/: " + prefix);
                    continue;
                }
                files.addAll(list(prefix));
            }
            AtomicLong checked = new AtomicLong();
            Map<Digest, byte[]> good = new java.util.concurrent.ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
            try {
                List<Future<?>> work = new ArrayList<>();
                ConcurrentLinkedQueue<Path> queue = new ConcurrentLinkedQueue<>(files);
                AtomicReference<StoreException> failure = new AtomicReference<>();
                for (int t = 0; t < Math.max(1, threads); t++) {
                    work.add(
                            pool.submit(
                                    () -> {
                                        FsVerityHasher hasher = new FsVerityHasher();
                                        ByteBuffer buf = ByteBuffer.allocate(1 << 18);
                                        Path f;
                                        while ((f = queue.poll()) != null) {
                                            Digest named =
                                                    Digest.fromObjectPath(
                                                            f.getParent().getFileName()
                                                                    + "/"
                                                                    + f.getFileName());
                                            try {
                                                if (named == null
                                                        || !Files.isRegularFile(
                                                                f, LinkOption.NOFOLLOW_LINKS)) {
                                                    problems.add("not an object: " + f);
                                                    quarantine(f, dryRun, quarantined);
                                                    continue;
                                                }
                                                java.security.MessageDigest sha =
                                                        ObjectDirectory.newSha256();
                                                Digest actual = digestBoth(f, hasher, sha, buf);
                                                checked.incrementAndGet();
                                                if (!actual.equals(named)) {
                                                    problems.add(
                                                            "object "
                                                                    + f
                                                                    + " has content "
                                                                    + actual.hex()
                                                                    + " (tampered or corrupt)");
                                                    quarantine(f, dryRun, quarantined);
                                                } else {
                                                    good.put(named, sha.digest());
                                                }
                                            } catch (StoreException e) {
                                                failure.compareAndSet(null, e);
                                            } catch (IOException e) {
                                                readFailed(
                                                        f,
                                                        e,
                                                        dryRun,
                                                        problems,
                                                        quarantined,
                                                        failure);
                                            }
                                        }
                                        return null;
                                    }));
                }
                for (Future<?> w : work) {
                    w.get();
                }
                if (failure.get() != null) {
                    throw failure.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreException("fsck of " + root + " interrupted");
            } catch (java.util.concurrent.ExecutionException e) {
                throw new StoreException(
                        "fsck of " + root + " failed: " + e.getCause(), e.getCause());
            } finally {
                pool.shutdownNow();
            }

            if (!dryRun) {
                rebuildIndex(good);
            }
            SortedMap<Digest, List<Digest>> missing = new TreeMap<>();
            int imagesChecked = 0;
            for (Map.Entry<Digest, Path> img : images().entrySet()) {
                imagesChecked++;
                Digest actual;
                try {
                    actual = FsVerity.digest(img.getValue());
                } catch (IOException e) {
                    problems.add("cannot read image " + img.getValue() + ": " + e.getMessage());
                    continue;
                }
                if (!actual.equals(img.getKey())) {
                    problems.add(
                            "image "
                                    + img.getValue()
                                    + " has content "
                                    + actual.hex()
                                    + " (tampered or corrupt)");
                    quarantine(img.getValue(), dryRun, quarantined);
                    continue;
                }
                Optional<ObjectList> l = checkedObjectList(img.getKey(), dryRun, problems);
                if (l.isEmpty()) {
                    continue;
                }
                List<Digest> absent = new ArrayList<>();
                for (Digest o : l.get().digests()) {
                    if (!objects.contains(o)) {
                        absent.add(o);
                    }
                }
                if (!absent.isEmpty()) {
                    missing.put(img.getKey(), List.copyOf(absent));
                }
            }
            for (Map.Entry<String, Digest> r : refs().entrySet()) {
                if (!hasImage(r.getValue())) {
                    problems.add(
                            "ref '"
                                    + r.getKey()
                                    + "' points at missing image "
                                    + r.getValue().hex());
                }
            }
            if (!dryRun) {
                scratch.cleanIfIdle();
            }
            return new FsckReport(
                    (int) checked.get(),
                    imagesChecked,
                    List.copyOf(quarantined),
                    missing,
                    List.copyOf(problems));
        }
    }

    /**
     * Makes the sha256 index say exactly what the objects hold: entries of objects fsck did not find
     * good (or whose sha256 is another) go, every good object gets its entry.
     */
    private void rebuildIndex(Map<Digest, byte[]> good) throws StoreException {
        Sha256Index index = objects.index();
        Map<String, Digest> bySha = new java.util.HashMap<>();
        good.forEach((d, sha) -> bySha.put(java.util.HexFormat.of().formatHex(sha), d));
        index.sweep(d -> good.containsKey(d));
        // an entry whose object is good but whose name is not that object's sha256 points wrong
        index.sweep(
                d -> {
                    byte[] sha = good.get(d);
                    return sha != null && index.lookup(sha, objects).map(d::equals).orElse(false);
                });
        good.forEach((d, sha) -> index.put(sha, d));
    }

    /** fs-verity digest and sha256 of a file in one read. */
    private static Digest digestBoth(
            Path f, FsVerityHasher hasher, java.security.MessageDigest sha, ByteBuffer buf)
            throws IOException {
        hasher.reset();
        buf.clear();
        try (java.nio.channels.FileChannel ch =
                java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) {
                if (!buf.hasRemaining()) {
                    buf.flip();
                    sha.update(buf.duplicate());
                    hasher.update(buf);
                    buf.clear();
                }
            }
        }
        buf.flip();
        sha.update(buf.duplicate());
        hasher.update(buf);
        return hasher.digest();
    }

    /** The saved object list, rebuilt from the image reader when missing or damaged. */
    private Optional<ObjectList> checkedObjectList(
            Digest image, boolean dryRun, List<String> problems) throws StoreException {
        Path list = images.resolve(image.hex() + LIST_SUFFIX);
        try {
            return Optional.of(ObjectList.decode(Files.readAllBytes(list), list.toString()));
        } catch (NoSuchFileException e) {
            problems.add("image " + image.hex() + " has no object list " + list);
        } catch (IOException e) {
            problems.add(e.getMessage());
        }
        ObjectList rebuilt;
        try {
            rebuilt = reader.read(imagePath(image));
        } catch (IOException e) {
            problems.add(
                    "cannot read image "
                            + imagePath(image)
                            + " to rebuild its object list: "
                            + e.getMessage());
            return Optional.empty();
        }
        if (rebuilt == null) {
            problems.add("no image reader configured to rebuild the object list of " + image.hex());
            return Optional.empty();
        }
        if (!dryRun) {
            try (Scratch.Session session = scratch.session("list-")) {
                Path temp = session.dir().resolve("list");
                Files.write(temp, rebuilt.encode());
                Durability.replaceDurably(temp, list);
            } catch (StoreException e) {
                throw e;
            } catch (IOException e) {
                throw new StoreException("cannot rewrite " + list + ": " + e.getMessage(), e);
            }
        }
        return Optional.of(rebuilt);
    }

    /**
     * An object that cannot be read. On a file with fs-verity the kernel answers EIO when a block
     * does not match the Merkle tree, so its bytes on disk were changed: quarantine it like any
     * object with the wrong content (a pod would only get EIO from it).
     */
    private void readFailed(
            Path f,
            IOException e,
            boolean dryRun,
            List<String> problems,
            List<Path> quarantined,
            AtomicReference<StoreException> failure) {
        boolean hasVerity;
        try {
            hasVerity = verity.measure(f).status() == KernelVerity.Measurement.Status.MEASURED;
        } catch (VerityException ve) {
            hasVerity = false;
        }
        if (!hasVerity) {
            problems.add("cannot read object " + f + ": " + e.getMessage());
            return;
        }
        problems.add(
                "object "
                        + f
                        + " fails the kernel's fs-verity check when read ("
                        + e.getMessage()
                        + "): its bytes on disk were changed (tampered or corrupt)");
        try {
            quarantine(f, dryRun, quarantined);
        } catch (StoreException se) {
            failure.compareAndSet(null, se);
        }
    }

    private void quarantine(Path bad, boolean dryRun, List<Path> quarantined)
            throws StoreException {
        if (dryRun) {
            quarantined.add(bad);
            return;
        }
        String flat = root.relativize(bad).toString().replace('/', '_');
        Path target = quarantine.resolve(Instant.now().toEpochMilli() + "-" + flat);
        try {
            Files.move(bad, target);
            quarantined.add(target);
        } catch (IOException e) {
            throw new StoreException(
                    "cannot move bad file " + bad + " to " + quarantine + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- stats

    /**
     * Sizes are apparent file sizes; {@code objectDiskBytes} rounds each object up to the
     * filesystem block. {@code logicalBytes}: external file bodies of all stored images, counted
     * once per file per image. {@code dedupRatio} = logical / object bytes.
     */
    public record Stats(
            long objects,
            long objectBytes,
            long objectDiskBytes,
            int images,
            long imageBytes,
            long logicalBytes,
            double dedupRatio,
            int refs,
            int mounts,
            int leases) {}

    public Stats stats() throws StoreException {
        long count = 0;
        long bytes = 0;
        long disk = 0;
        long block;
        try {
            block = Math.max(1, Files.getFileStore(objects.root()).getBlockSize());
        } catch (IOException | UnsupportedOperationException e) {
            block = 4096;
        }
        for (Path prefix : list(objects.root())) {
            for (Path f : list(prefix)) {
                long s = sizeOf(f);
                count++;
                bytes += s;
                disk += (s + block - 1) / block * block;
            }
        }
        long logical = 0;
        long imageBytes = 0;
        SortedMap<Digest, Path> all = images();
        for (Map.Entry<Digest, Path> e : all.entrySet()) {
            imageBytes += sizeOf(e.getValue());
            try {
                Optional<ObjectList> l = objectList(e.getKey());
                if (l.isPresent()) {
                    logical += l.get().logicalBytes();
                }
            } catch (StoreException ex) {
                // an image whose objects cannot be listed adds nothing to the logical size; fsck
                // reports it
            }
        }
        double ratio = bytes == 0 ? 1.0 : (double) logical / bytes;
        return new Stats(
                count,
                bytes,
                disk,
                all.size(),
                imageBytes,
                logical,
                ratio,
                refs().size(),
                mountRecords().size(),
                list(leases).size());
    }

    // ---------------------------------------------------------------- helpers

    private static List<Path> list(Path dir) throws StoreException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException | UncheckedIOException e) {
            throw new StoreException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static void deleteOrFail(Path p) throws StoreException {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new StoreException("cannot delete " + p + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // informational file; next GC retries
        }
    }

    private static int parsePrefix(String s) {
        if (s.length() != 2) {
            return -1;
        }
        int hi = Character.digit(s.charAt(0), 16);
        int lo = Character.digit(s.charAt(1), 16);
        return hi < 0
                        || lo < 0
                        || Character.isUpperCase(s.charAt(0))
                        || Character.isUpperCase(s.charAt(1))
                ? -1
                : hi << 4 | lo;
    }

    private static Digest parseHex(String s) {
        if (s.length() != 2 * Digest.LENGTH) {
            return null;
        }
        return Digest.fromObjectPath(s.substring(0, 2) + "/" + s.substring(2));
    }
}
