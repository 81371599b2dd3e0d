package dev.kcfs.store;

import static dev.kcfs.store.StoreFiles.*;

import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerityHasher;
import dev.kcfs.verity.KernelVerity;
import dev.kcfs.verity.VerityException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

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
 * index/manifests/&lt;hex&gt;.vN  -&gt; the image an OCI manifest was imported as ({@link ManifestIndex}; a cache)
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

    static final String IMAGE_SUFFIX = ".cfs";
    static final String LIST_SUFFIX = ".objects";

    final Path root;
    final ObjectDirectory objects;
    final Scratch scratch;
    final Path images;
    final Path refs;
    final Path mounts;
    final Path leases;
    final Path quarantine;
    final Path gcLock;
    final Path gcGate;
    final ImageObjects reader;
    final ManifestIndex manifests;
    final KernelVerity verity = new KernelVerity();

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
        this.manifests = new ManifestIndex(root.resolve("index/manifests"));
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
                    List.of(
                            "images",
                            "refs",
                            "mounts",
                            "leases",
                            "quarantine",
                            "index/sha256",
                            "index/manifests")) {
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

    /** Which image each imported OCI manifest became (a cache the importer consults). */
    public ManifestIndex manifests() {
        return manifests;
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

    public Path imagePath(Digest imageDigest) {
        return images.resolve(imageDigest.hex() + IMAGE_SUFFIX);
    }

    public boolean hasImage(Digest imageDigest) {
        return Files.isRegularFile(imagePath(imageDigest), LinkOption.NOFOLLOW_LINKS);
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
    public Optional<ObjectList> objectList(Digest imageDigest) throws StoreException {
        Path list = images.resolve(imageDigest.hex() + LIST_SUFFIX);
        try {
            return Optional.of(ObjectList.decode(Files.readAllBytes(list), list.toString()));
        } catch (NoSuchFileException e) {
            // fall through to the reader
        } catch (StoreException e) {
            // damaged list: the reader may still know
        } catch (IOException e) {
            throw new StoreException("cannot read " + list + ": " + e.getMessage(), e);
        }
        if (!hasImage(imageDigest)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(reader.read(imagePath(imageDigest)));
        } catch (IOException e) {
            throw new StoreException(
                    "cannot read the object list of image "
                            + imagePath(imageDigest)
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
    public Path mountPoint(Digest imageDigest) {
        return mounts.resolve(imageDigest.hex());
    }

    /** Creates the mount point of an image (the in-use record). The image must be in the store. */
    public Path recordMount(Digest imageDigest) throws StoreException {
        try (FileLock lock = FileLock.shared(gcLock)) {
            if (!hasImage(imageDigest)) {
                throw new StoreException(
                        "image "
                                + imageDigest.hex()
                                + " is not in store "
                                + root
                                + "; cannot mount it");
            }
            Path p = mountPoint(imageDigest);
            Files.createDirectories(p);
            Files.deleteIfExists(
                    mountNote(imageDigest)); // a new record starts without the note of an old one
            Durability.fsync(mounts);
            return p;
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException(
                    "cannot create mount point for "
                            + imageDigest.hex()
                            + " in "
                            + mounts
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** Removes the in-use record (and its note) after unmounting; fails (EBUSY/not empty) while still mounted. */
    public void removeMountRecord(Digest imageDigest) throws StoreException {
        Path p = mountPoint(imageDigest);
        try {
            Files.deleteIfExists(p);
            Files.deleteIfExists(mountNote(imageDigest));
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
    public void setMountNote(Digest imageDigest, String note) throws StoreException {
        Path file = mountNote(imageDigest);
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
    public Optional<String> readMountNote(Digest imageDigest) throws StoreException {
        Path file = mountNote(imageDigest);
        try {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8).trim());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new StoreException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private Path mountNote(Digest imageDigest) {
        return mounts.resolve(imageDigest.hex() + ".note");
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
        return new StoreGc(this).run(dryRun, wait, releasedMounts);
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
        return new StoreFsck(this).run(dryRun, threads);
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
        return new StoreStatistics(this).run();
    }
}
