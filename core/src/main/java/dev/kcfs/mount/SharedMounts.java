package dev.kcfs.mount;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The node-wide mounts of images at {@code mounts/<digest>/}: one per image however many targets
 * use it, so every user reads the same page cache. The CLI ({@code kcfs mount --store}) and the
 * CSI node plugin both go through this class, so they follow the same rules:
 *
 * <ul>
 *   <li>A shared mount records how strictly it checks file bodies (its verity mode). A request is
 *       served only by a mount at least as strict; an unused weaker mount is replaced, one in use
 *       is not, and the request is refused ({@link MountException.Kind#REFUSED}) until its users
 *       are gone. A mount without a recorded mode counts as {@link VerityMode#OFF}.</li>
 *   <li>A shared mount is in use while the mount table shows a user ({@link MountTable#usersOf}):
 *       a bind of it, or an overlay over it, whoever made them.</li>
 *   <li>Finding or making the shared mount and binding it to the caller's target happen under the
 *       one lock that releasing takes, so a concurrent release ({@code kcfs umount}, {@code kcfs
 *       store gc}, another volume's unpublish) cannot unmount it in between.</li>
 * </ul>
 */
public final class SharedMounts {
    /** What the caller does with the shared mount while the lock is held (binds it to its target). */
    @FunctionalInterface
    public interface Use<T> {
        /** {@code shared.target()} is the shared mount's directory; for a mount found in place, notes say so. */
        T at(Mounted shared) throws IOException;
    }

    private final MountRecords records;
    private final ImageMounter mounter;
    private final KernelMounts kernel;

    public SharedMounts(MountRecords records, ImageMounter mounter, KernelMounts kernel) {
        this.records = records;
        this.mounter = mounter;
        this.kernel = kernel;
    }

    public Path pathOf(Digest image) {
        return records.pathOf(image);
    }

    /**
     * Finds the shared mount of {@code image} that is at least as strict as {@code verity}, making
     * it if there is none, and hands it to {@code use} under the lock. If {@code use} fails, the
     * shared mount is released again unless something else uses it.
     */
    public <T> T acquire(Digest image, VerityMode verity, Duration wait, Use<T> use)
            throws IOException {
        try (MountRecords.Held lock = lock(wait, "mount image " + image.hex())) {
            Path dir = records.pathOf(image);
            MountTable table = MountTable.read();
            if (table.isMountPoint(dir)) {
                VerityMode has = records.verity(image).orElse(VerityMode.OFF);
                if (has.compareTo(verity) < 0) {
                    List<MountTable.Entry> users = table.usersOf(dir);
                    if (!users.isEmpty()) {
                        throw new MountException(
                                MountException.Kind.REFUSED,
                                "image "
                                        + image.hex()
                                        + " is mounted at "
                                        + dir
                                        + " with "
                                        + describe(has)
                                        + " and used by "
                                        + users.size()
                                        + " mount(s) (first: "
                                        + users.get(0).mountPoint()
                                        + "); this request asks for verity "
                                        + verity
                                        + " and is not served from a weaker mount. Unmount those users, then retry");
                    }
                    detachAll(dir); // nobody uses it: replace it with a stricter one
                }
            }
            Mounted shared;
            if (MountTable.read().isMountPoint(dir)) {
                VerityMode has = records.verity(image).orElse(VerityMode.OFF);
                shared =
                        new Mounted(
                                dir,
                                has == VerityMode.REQUIRED,
                                false,
                                null,
                                false,
                                List.of("shared mount already present, " + describe(has)));
            } else {
                shared = mount(image, dir, verity);
            }
            try {
                return use.at(shared);
            } catch (IOException | RuntimeException e) {
                try {
                    releaseLocked(image);
                } catch (IOException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }
    }

    private Mounted mount(Digest image, Path dir, VerityMode verity) throws IOException {
        records.create(image);
        Mounted m;
        try {
            m = mounter.mount(image, dir, verity);
        } catch (IOException | RuntimeException e) {
            try {
                records.remove(image); // nothing is mounted: no in-use record for it
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        // written after mounting: a crash in between leaves no mode, which counts as the weakest
        records.setVerity(
                image,
                m.verityEnforced()
                        ? VerityMode.REQUIRED
                        : verity == VerityMode.OFF ? VerityMode.OFF : VerityMode.IF_SUPPORTED);
        return m;
    }

    /** Releases the shared mount of {@code image} if nothing uses it; returns whether it did. */
    public boolean release(Digest image, Duration wait) throws IOException {
        try (MountRecords.Held lock = lock(wait, "release image " + image.hex())) {
            return releaseLocked(image);
        }
    }

    /**
     * Unmounts the shared mounts nothing uses any more and removes the records of images that are
     * not mounted (a reboot, a mount namespace that is gone). Returns the images released.
     */
    public List<Digest> releaseUnused(Duration wait) throws IOException {
        List<Digest> released = new ArrayList<>();
        try (MountRecords.Held lock = lock(wait, "release unused shared mounts")) {
            for (Digest image : records.recorded()) {
                if (releaseLocked(image)) {
                    released.add(image);
                }
            }
        }
        return released;
    }

    /**
     * The images {@link #releaseUnused} would release now: records without a mount (stale) and
     * shared mounts nothing uses. A dry run of GC counts their records as gone, as a real run does.
     */
    public List<Digest> unused() throws IOException {
        MountTable table = MountTable.read();
        List<Digest> out = new ArrayList<>();
        for (Digest image : records.recorded()) {
            if (table.usersOf(records.pathOf(image)).isEmpty()) {
                out.add(image);
            }
        }
        return out;
    }

    /** The images whose records stand for a mount that is really there (records checked against the mount table). */
    public List<Digest> mounted() throws IOException {
        MountTable table = MountTable.read();
        List<Digest> out = new ArrayList<>();
        for (Digest image : records.recorded()) {
            if (table.isMountPoint(records.pathOf(image))) {
                out.add(image);
            }
        }
        return out;
    }

    private boolean releaseLocked(Digest image) throws IOException {
        Path dir = records.pathOf(image);
        if (!MountTable.read().usersOf(dir).isEmpty()) {
            return false;
        }
        detachAll(dir);
        records.remove(image);
        return true;
    }

    /** Detaches every mount stacked at {@code dir} (an older run may have left one underneath). */
    private void detachAll(Path dir) throws IOException {
        for (int i = 0; i < 16 && MountTable.read().isMountPoint(dir); i++) {
            kernel.detach(dir);
        }
        if (MountTable.read().isMountPoint(dir)) {
            throw new MountException(
                    "cannot unmount the shared mount " + dir + ": still mounted after 16 detaches");
        }
    }

    private MountRecords.Held lock(Duration wait, String what) throws IOException {
        MountRecords.Held held = records.lock(wait);
        if (held == null) {
            throw new MountException(
                    MountException.Kind.BUSY,
                    "cannot "
                            + what
                            + ": the shared mounts are busy with"
                            + " another operation for longer than "
                            + wait.toMillis()
                            + " ms; try again");
        }
        return held;
    }

    private static String describe(VerityMode mode) {
        switch (mode) {
            case REQUIRED:
                return "verity enforced (verity=require)";
            case IF_SUPPORTED:
                return "verity asked for but not enforced (unsupported here)";
            default:
                return "verity off";
        }
    }
}
