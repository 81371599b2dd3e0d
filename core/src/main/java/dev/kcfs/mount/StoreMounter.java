package dev.kcfs.mount;

import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code kcfs mount --store}: mounts images of a {@link Store} through its {@link SharedMounts}
 * (one shared read-only composefs mount per image at {@code mounts/<digest>/}), bound
 * read-only, {@code nosuid,nodev}, to each target. The shared mount's record keeps GC away from
 * the image while it exists.
 */
public final class StoreMounter {
    /** How long a command waits for another process working on the shared mounts. */
    private static final Duration WAIT = Duration.ofMinutes(2);

    private final Store store;
    private final ComposefsMounter mounter;
    private final KernelMounts kernel = new KernelMounts();
    private final SharedMounts shared;

    public StoreMounter(Store store, ComposefsMounter mounter) {
        this.store = store;
        this.mounter = mounter;
        this.shared =
                new SharedMounts(
                        MountRecords.of(store), new StoreImageMounter(store, mounter), kernel);
    }

    /** Mounts an image (ref name or digest) read-only at {@code target}. */
    public Mounted mount(String nameOrDigest, Path target, VerityMode verity) throws IOException {
        if (!Files.isDirectory(target)) {
            throw new MountException("mount target " + target + " is not a directory");
        }
        try (Store.Lease lease = store.lease("mount " + nameOrDigest + " at " + target)) {
            Digest image = store.resolve(nameOrDigest);
            return shared.acquire(
                    image,
                    verity,
                    WAIT,
                    s -> {
                        kernel.bindReadOnly(s.target(), target);
                        return new Mounted(
                                target,
                                s.verityEnforced(),
                                false,
                                s.loopDevice(),
                                s.legacyOverlay(),
                                s.notes());
                    });
        }
    }

    /**
     * The shared mount that the mount at {@code target} shows (a bind of {@code STORE/mounts/<digest>}),
     * found in the mount table by device; empty when {@code target} is not such a bind.
     */
    public static Optional<Path> sharedMountBehind(Path target) {
        MountTable table = MountTable.read();
        Optional<MountTable.Entry> at = table.at(target);
        if (at.isEmpty()) {
            return Optional.empty();
        }
        return table.entries().stream()
                .filter(e -> e.device().equals(at.get().device()) && !e.mountPoint().equals(target))
                .map(MountTable.Entry::mountPoint)
                .filter(
                        p ->
                                p.getParent() != null
                                        && p.getParent().getFileName() != null
                                        && p.getParent().getFileName().toString().equals("mounts")
                                        && isDigest(p.getFileName().toString()))
                .findFirst();
    }

    /** The node store a shared mount directory belongs to, if {@code shared} is {@code STORE/mounts/<digest>} of one. */
    public static Optional<Path> storeOf(Path shared) {
        Path root = shared.getParent().getParent();
        return root != null && Files.isRegularFile(root.resolve(Store.META))
                ? Optional.of(root)
                : Optional.empty();
    }

    private static boolean isDigest(String name) {
        try {
            Digest.parse(name);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Unmounts a target made by {@link #mount}; the shared mount stays until {@link #releaseUnused()}. */
    public void unmount(Path target) throws MountException {
        mounter.unmount(target, false);
    }

    /**
     * Unmounts shared mounts that nothing uses and removes in-use records of images that are
     * not mounted (e.g. after a reboot). Returns the digests released.
     */
    public List<Digest> releaseUnused() throws IOException {
        return shared.releaseUnused(WAIT);
    }

    /** The images {@link #releaseUnused()} would release now (stale records, shared mounts nothing uses). */
    public List<Digest> unused() throws IOException {
        return shared.unused();
    }

    /** The images whose in-use record stands for a mount that is really there. */
    public List<Digest> mounted() throws IOException {
        return shared.mounted();
    }
}
