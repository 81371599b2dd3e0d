package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import dev.kcfs.store.ErofsImageObjects;
import dev.kcfs.store.ObjectList;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerityHasher;
import dev.kcfs.verity.KernelVerity;
import dev.kcfs.verity.VerityException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mounts composefs images the way {@code mount.composefs} does (docs/format.md, 'Mounting'), through JNA:
 * EROFS straight from the image file (loop device where the kernel cannot), then an overlay with
 * the EROFS as lower layer and the object directories as data-only layers, {@code metacopy=on},
 * {@code redirect_dir=on} and, when asked and available, {@code verity=require}. The EROFS mount
 * is detached once the overlay holds it, so only the overlay is visible. On any failure nothing
 * stays mounted. This class is the path of current kernels (6.15 and later); what older kernels
 * need instead is in {@link MountCompat}, taken only when the kernel refuses the main path.
 *
 * <p>Only mount images this node built or whose digest was pinned and checked: the kernel's EROFS
 * parser is not hardened against hostile images.
 */
public final class ComposefsMounter {
    static final int COMPOSEFS_MAGIC = 0xd078629a;
    static final int EROFS_MAGIC = 0xE0F5E1E2;
    static final int FLAG_HAS_ACL = 1;
    private static final int BLOCK = 4096;

    private final KernelVerity verity;
    private final Path scratch;
    private final boolean forceLoop;

    /** Cleared once overlayfs refuses a detached EROFS mount as layer (kernels before 6.15). */
    private volatile boolean detachedLowerWorks = true;

    /** Temporary EROFS mount points go to {@code java.io.tmpdir}. */
    public ComposefsMounter() {
        this(new KernelVerity(), Path.of(System.getProperty("java.io.tmpdir")), false);
    }

    /**
     * @param scratch   directory for the short-lived EROFS mount points
     * @param forceLoop mount EROFS through a loop device even where the kernel can mount files (tests the pre-6.12 path)
     */
    public ComposefsMounter(KernelVerity verity, Path scratch, boolean forceLoop) {
        this.verity = verity;
        this.scratch = scratch;
        this.forceLoop = forceLoop;
    }

    /** False once this kernel refused a detached EROFS mount as overlay layer (then it is attached briefly). */
    boolean detachedLowerWorks() {
        return detachedLowerWorks;
    }

    /** Tests: take the path of kernels before 6.15 (EROFS attached at a private directory, then detached). */
    void useAttachedLower() {
        detachedLowerWorks = false;
    }

    public Mounted mount(Path image, Path target, MountOptions options) throws MountException {
        requireDirectory(target, "mount target");
        for (Path b : options.basedirs()) {
            requireDirectory(b, "basedir (object directory)");
        }
        if (options.upperdir() != null) {
            requireDirectory(options.upperdir(), "upperdir");
            requireDirectory(options.workdir(), "workdir");
        }
        int imageFd;
        try {
            imageFd = LibC.INSTANCE.open(image.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new MountException(Errno.describe("cannot open composefs image " + image, e));
        }
        try {
            List<String> notes = new ArrayList<>();
            int flags = checkHeader(imageFd, image);
            if (options.digest() != null) {
                checkDigest(imageFd, image, options.digest(), notes);
            }
            boolean enforce = decideVerity(imageFd, image, options, notes);
            ErofsLayer lower = mountErofs(imageFd, image, (flags & FLAG_HAS_ACL) != 0);
            try {
                boolean legacy = mountOverlay(lower, image, target, options, enforce, notes);
                return new Mounted(
                        target,
                        enforce && !notes.contains(VERITY_DROPPED),
                        options.upperdir() != null && !options.readOnly(),
                        lower.loop == null ? null : lower.loop.path(),
                        legacy,
                        notes);
            } finally {
                lower.release();
            }
        } finally {
            LibC.INSTANCE.close(imageFd);
        }
    }

    /** Unmounts a composefs mount. Busy mounts fail unless {@code lazy} (then they go away when unused). */
    public void unmount(Path target, boolean lazy) throws MountException {
        try {
            LibC.INSTANCE.umount2(target.toString(), lazy ? LibC.MNT_DETACH : 0);
        } catch (LastErrorException e) {
            switch (e.getErrorCode()) {
                case Errno.EINVAL:
                    throw new MountException(target + " is not a mount point; nothing to unmount");
                case Errno.EBUSY:
                    throw new MountException(
                            target
                                    + " is busy (open files or a process's working directory inside); close them or unmount lazily");
                case Errno.ENOENT:
                    throw new MountException(target + " does not exist");
                default:
                    throw new MountException(Errno.describe("cannot unmount " + target, e));
            }
        }
    }

    // ---------------------------------------------------------------- checks

    private static void requireDirectory(Path p, String role) throws MountException {
        if (p == null || !Files.isDirectory(p)) {
            throw new MountException(role + " " + p + " is not a directory");
        }
    }

    /** Reads the composefs header and the EROFS superblock; returns the header flags. */
    static int checkHeader(int fd, Path image) throws MountException {
        byte[] head = new byte[1024 + 128];
        int n = pread(fd, head, 0, image);
        if (n < head.length) {
            throw new MountException(
                    "image "
                            + image
                            + " is only "
                            + n
                            + " bytes long: not a composefs image (truncated or wrong file)");
        }
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != COMPOSEFS_MAGIC) {
            throw new MountException(
                    "image "
                            + image
                            + " is not a composefs image: no composefs magic 0xd078629a at offset 0");
        }
        if (b.getInt(1024) != EROFS_MAGIC) {
            throw new MountException(
                    "image "
                            + image
                            + " has a composefs header but no EROFS superblock at offset 1024: damaged image");
        }
        long blocks = Integer.toUnsignedLong(b.getInt(1024 + 36));
        long size;
        try {
            size = Files.size(Path.of("/proc/self/fd/" + fd));
        } catch (IOException e) {
            throw new MountException("cannot stat image " + image + ": " + e.getMessage(), e);
        }
        if (size < blocks * BLOCK) {
            throw new MountException(
                    "image "
                            + image
                            + " is truncated: its superblock says "
                            + blocks * BLOCK
                            + " bytes, the file has "
                            + size
                            + "; rebuild or re-fetch it");
        }
        return b.getInt(8);
    }

    private void checkDigest(int fd, Path image, Digest expected, List<String> notes)
            throws MountException {
        Digest actual;
        try {
            KernelVerity.Measurement m = verity.measure(fd, image.toString());
            if (m.status() == KernelVerity.Measurement.Status.MEASURED) {
                actual = m.digest();
            } else {
                // no kernel verity on the image: hash the same open file, so what is checked is
                // what is mounted
                actual = digestOf(fd, image);
                notes.add(
                        "image digest checked in user space (the image file has no kernel fs-verity)");
            }
        } catch (VerityException e) {
            throw new MountException(
                    "cannot check the digest of image " + image + ": " + e.getMessage(), e);
        }
        if (!actual.equals(expected)) {
            throw new MountException(
                    "image "
                            + image
                            + " has fs-verity digest "
                            + actual.hex()
                            + ", expected "
                            + expected.hex()
                            + "; refusing to mount it (wrong or tampered image)");
        }
    }

    static Digest digestOf(int fd, Path image) throws MountException {
        FsVerityHasher hasher = new FsVerityHasher();
        byte[] buf = new byte[256 * 1024];
        long off = 0;
        int n;
        while ((n = pread(fd, buf, off, image)) > 0) {
            hasher.update(buf, 0, n);
            off += n;
        }
        return hasher.digest();
    }

    private static int pread(int fd, byte[] buf, long offset, Path image) throws MountException {
        // JNA passes whole arrays, so short reads (rare for regular files) continue through a
        // second buffer
        int total = 0;
        while (total < buf.length) {
            long n;
            try {
                byte[] part = total == 0 ? buf : new byte[buf.length - total];
                n =
                        LibC.INSTANCE
                                .pread(fd, part, new NativeLong(part.length), offset + total)
                                .longValue();
                if (part != buf && n > 0) {
                    System.arraycopy(part, 0, buf, total, (int) n);
                }
            } catch (LastErrorException e) {
                throw new MountException(Errno.describe("cannot read image " + image, e));
            }
            if (n <= 0) {
                break;
            }
            total += (int) n;
        }
        return total;
    }

    static final String VERITY_DROPPED =
            "verity=require not accepted by this kernel's overlayfs (needs Linux 6.6): mounted WITHOUT verity enforcement";

    /** Whether to pass verity=require; throws for REQUIRED when fs-verity is unavailable. */
    private boolean decideVerity(int imageFd, Path image, MountOptions o, List<String> notes)
            throws MountException {
        if (o.verity() == VerityMode.OFF) {
            return false;
        }
        String missing = null;
        try {
            if (verity.measure(imageFd, image.toString()).status()
                    == KernelVerity.Measurement.Status.UNSUPPORTED) {
                missing = "the kernel or the filesystem of " + image + " has no fs-verity";
            }
            for (Path b : o.basedirs()) {
                if (missing != null) {
                    break;
                }
                int fd =
                        LibC.INSTANCE.open(
                                b.toString(), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
                try {
                    if (verity.measure(fd, b.toString()).status()
                            == KernelVerity.Measurement.Status.UNSUPPORTED) {
                        missing = "the kernel or the filesystem of " + b + " has no fs-verity";
                    }
                } finally {
                    LibC.INSTANCE.close(fd);
                }
            }
        } catch (VerityException | LastErrorException e) {
            throw new MountException(
                    "cannot probe fs-verity support for " + image + ": " + e.getMessage(), e);
        }
        String why =
                " (FS_IOC_MEASURE_VERITY: EOPNOTSUPP/ENOTTY; the kernel needs CONFIG_FS_VERITY and the filesystem the verity feature)";
        if (missing == null) {
            // overlayfs fails every open of a backing file without verity with EIO, only once a pod
            // reads it
            List<Path> unverified = objectsWithoutVerity(image, o.basedirs());
            if (unverified.isEmpty()) {
                return true;
            }
            missing =
                    unverified.size()
                            + " of its objects have no fs-verity enabled (first: "
                            + unverified.get(0)
                            + ")";
            why =
                    "; they were put into the object directory without it (copied in by hand, or written where the filesystem"
                            + " had no verity), and with verity=require the kernel would fail every read of them with EIO."
                            + " Enable it (fsverity enable FILE) or remove them and import the image again";
        }
        if (o.verity() == VerityMode.REQUIRED) {
            // a rule the node cannot meet, not a fault: callers (CSI: FAILED_PRECONDITION) say so
            throw new MountException(
                    MountException.Kind.REFUSED,
                    "verity was required for "
                            + image
                            + " but "
                            + missing
                            + why
                            + ". "
                            + "Nothing was mounted; mount with tryverity (or without verity) to accept unverified file contents");
        }
        notes.add("fs-verity unavailable (" + missing + "): mounted WITHOUT verity enforcement");
        return false;
    }

    /**
     * The image's objects that exist in a basedir but have no fs-verity enabled (kernel
     * measurement: one open and one ioctl per object, on verity-capable filesystems only). Objects
     * found in no basedir are left to the caller's checks: the kernel reports them as missing.
     */
    private List<Path> objectsWithoutVerity(Path image, List<Path> basedirs) throws MountException {
        ObjectList objects;
        try {
            objects = new ErofsImageObjects().read(image);
        } catch (IOException | RuntimeException e) {
            throw new MountException(
                    "cannot list the objects of image "
                            + image
                            + " to check their fs-verity: "
                            + e.getMessage(),
                    e);
        }
        List<Path> unverified = new ArrayList<>();
        for (Digest d : objects.digests()) {
            for (Path b : basedirs) {
                Path object = b.resolve(d.objectPath());
                int fd;
                try {
                    fd = LibC.INSTANCE.open(object.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Errno.ENOENT) {
                        continue;
                    }
                    throw new MountException(
                            Errno.describe(
                                    "cannot open object " + object + " of image " + image, e));
                }
                try {
                    if (verity.measure(fd, object.toString()).status()
                            != KernelVerity.Measurement.Status.MEASURED) {
                        unverified.add(object);
                    }
                } catch (VerityException e) {
                    throw new MountException(
                            "cannot check fs-verity of object "
                                    + object
                                    + " of image "
                                    + image
                                    + ": "
                                    + e.getMessage(),
                            e);
                } finally {
                    LibC.INSTANCE.close(fd);
                }
                break;
            }
        }
        return unverified;
    }

    // ---------------------------------------------------------------- erofs

    private ErofsLayer mountErofs(int imageFd, Path image, boolean acl) throws MountException {
        ErofsLayer layer = new ErofsLayer(scratch);
        boolean ok = false;
        try {
            MountCompat.ErofsFromDevice throughLoop = loop -> createErofs(loop, acl, image, layer);
            if (forceLoop) {
                MountCompat.erofsThroughLoop(imageFd, image, layer, throughLoop);
            } else {
                try {
                    createErofs("/proc/self/fd/" + imageFd, acl, image, layer);
                } catch (Refused r) {
                    if (r.errno != Errno.ENOTBLK) {
                        throw new MountException(r.getMessage());
                    }
                    MountCompat.erofsThroughLoop(imageFd, image, layer, throughLoop);
                }
            }
            if (!detachedLowerWorks) {
                MountCompat.attachLower(layer, image);
            }
            ok = true;
            return layer;
        } finally {
            if (!ok) {
                layer.release();
            }
        }
    }

    private void createErofs(String source, boolean acl, Path image, ErofsLayer layer)
            throws Refused, MountException {
        String what = "cannot mount image " + image + " as EROFS (not a valid image, or damaged)";
        FsContext ctx;
        try {
            ctx = FsContext.open("erofs");
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.ENOSYS) {
                layer.dir = ErofsLayer.newMountPoint(scratch);
                MountCompat.legacyErofs(source, layer.dir, acl, what);
                return;
            }
            throw new Refused(
                    e.getErrorCode(),
                    Errno.describe(
                            "this kernel has no EROFS filesystem (CONFIG_EROFS_FS) to mount "
                                    + image,
                            e));
        }
        try (ctx) {
            try {
                ctx.setString("source", source);
                ctx.setFlag("ro");
                if (!acl) {
                    ctx.setFlag("noacl");
                }
                ctx.create();
                layer.mountFd = ctx.mount(FsContext.MOUNT_ATTR_RDONLY);
            } catch (LastErrorException e) {
                throw new Refused(e.getErrorCode(), ctx.describe(what, e));
            }
        }
    }

    // ---------------------------------------------------------------- overlay

    /**
     * The overlay through the new mount API ({@code lowerdir+}, {@code datadir+}), tried a second
     * time with the EROFS attached when a detached one was refused ({@link
     * MountCompat#attachLower}); where the kernel cannot, {@link MountCompat#legacyOverlay}.
     * Returns true if the legacy mount(2) path was used.
     */
    private boolean mountOverlay(
            ErofsLayer lower,
            Path image,
            Path target,
            MountOptions o,
            boolean enforce,
            List<String> notes)
            throws MountException {
        String newApiError = null;
        for (int attempt = 0; attempt < 2 && newApiError == null; attempt++) {
            FsContext ctx;
            try {
                ctx = FsContext.open("overlay");
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.ENOSYS) {
                    throw new MountException(
                            Errno.describe(
                                    "this kernel has no overlay filesystem to mount " + image, e));
                }
                break;
            }
            try (ctx) {
                if (MountCompat.overlayHasOnlyLegacyParser(ctx)) {
                    break;
                }
                try {
                    overlayNewApi(ctx, lower.path(), target, o, enforce, notes);
                    return false;
                } catch (Refused r) {
                    if (r.errno != Errno.EINVAL) {
                        throw new MountException(r.getMessage());
                    }
                    if (!lower.detached()) {
                        newApiError = r.getMessage();
                    } else {
                        // overlayfs before 6.15 takes no detached layers: attach it and try once
                        // more
                        detachedLowerWorks = false;
                        MountCompat.attachLower(lower, image);
                    }
                }
            }
        }
        MountCompat.legacyOverlay(lower, image, target, o, enforce, newApiError);
        return true;
    }

    private static void overlayNewApi(
            FsContext ctx,
            String lower,
            Path target,
            MountOptions o,
            boolean enforce,
            List<String> notes)
            throws Refused, MountException {
        String step = "cannot mount the composefs overlay on " + target;
        try {
            ctx.setString("source", "composefs");
            ctx.setString("metacopy", "on");
            ctx.setString("redirect_dir", "on");
            if (enforce) {
                try {
                    ctx.setString("verity", "require");
                } catch (LastErrorException e) {
                    if (o.verity() == VerityMode.REQUIRED) {
                        throw new MountException(
                                MountException.Kind.REFUSED,
                                ctx.describe(
                                        "verity was required but this kernel's overlayfs does not accept verity=require (needs Linux 6.6); nothing was mounted",
                                        e));
                    }
                    notes.add(VERITY_DROPPED);
                }
            }
            ctx.setString("lowerdir+", lower);
            for (Path b : o.basedirs()) {
                ctx.setString("datadir+", b.toString());
            }
            if (o.upperdir() != null) {
                ctx.setOverlayDir("upperdir", o.upperdir());
                ctx.setOverlayDir("workdir", o.workdir());
            }
            ctx.create();
        } catch (LastErrorException e) {
            throw new Refused(e.getErrorCode(), ctx.describe(step, e));
        }
        int mfd;
        try {
            mfd =
                    ctx.mount(
                            (o.readOnly() ? FsContext.MOUNT_ATTR_RDONLY : 0)
                                    | (o.nosuidNodev()
                                            ? FsContext.MOUNT_ATTR_NOSUID
                                                    | FsContext.MOUNT_ATTR_NODEV
                                            : 0));
        } catch (LastErrorException e) {
            throw new Refused(e.getErrorCode(), ctx.describe(step, e));
        }
        try {
            FsContext.moveMount(mfd, target);
        } catch (LastErrorException e) {
            throw new MountException(
                    Errno.describe("cannot attach the composefs overlay at " + target, e));
        } finally {
            LibC.INSTANCE.close(mfd);
        }
    }
}
