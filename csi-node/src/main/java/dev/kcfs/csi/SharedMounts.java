package dev.kcfs.csi;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The node-wide mounts of images at {@code mounts/<digest>/}, one per digest however many volumes
 * use it, reference-counted by the targets bound from it. Every change for one digest happens
 * under that digest's lock, so concurrent first publishes of an image mount it exactly once.
 */
final class SharedMounts {
    private final MountPoints mountPoints;
    private final ImageMounter mounter;
    private final KernelMounts kernel;
    private final KeyedLocks<Digest> locks = new KeyedLocks<>();
    /** digest -> targets using it; a digest is present exactly while its shared mount is wanted. */
    private final Map<Digest, Set<Path>> users = new ConcurrentHashMap<>();

    SharedMounts(MountPoints mountPoints, ImageMounter mounter, KernelMounts kernel) {
        this.mountPoints = mountPoints;
        this.mounter = mounter;
        this.kernel = kernel;
    }

    Path pathOf(Digest digest) {
        return mountPoints.pathOf(digest);
    }

    /**
     * Registers {@code target} as a user of {@code image}'s shared mount, mounting it first if no
     * one uses it yet (or if it disappeared from the mount table), and returns its directory.
     */
    Path acquire(ResolvedImage image, Path target, long timeoutNanos) throws IOException, InterruptedException {
        Digest digest = image.digest();
        try (KeyedLocks.Held held = lockOrAbort(digest, timeoutNanos)) {
            Path dir = pathOf(digest);
            Set<Path> current = users.get(digest);
            if (current == null || !MountTable.read().isMountPoint(dir)) {
                try (MountPoints.Lock storeLock = mountPoints.lock()) {
                    mountShared(image, dir, current == null);
                }
                if (current == null) {
                    current = new HashSet<>();
                    users.put(digest, current);
                }
            }
            current.add(target);
            return dir;
        }
    }

    /** Mounts the image at its mount point unless it is mounted there already (e.g. by an older run). */
    private void mountShared(ResolvedImage image, Path dir, boolean firstUser) throws IOException {
        Digest digest = image.digest();
        mountPoints.create(digest);
        if (MountTable.read().isMountPoint(dir)) {
            return;
        }
        try {
            mounter.mount(image, dir);
        } catch (IOException | RuntimeException e) {
            if (firstUser) {
                removeQuietly(digest); // no in-use record for an image nobody has mounted
            }
            throw e;
        }
    }

    /** Drops {@code target} as a user of {@code digest}; the last user unmounts the shared mount. */
    void release(Digest digest, Path target, long timeoutNanos) throws IOException, InterruptedException {
        try (KeyedLocks.Held held = lockOrAbort(digest, timeoutNanos)) {
            Set<Path> current = users.get(digest);
            if (current == null) {
                return;
            }
            current.remove(target);
            if (current.isEmpty()) {
                Path dir = pathOf(digest);
                try (MountPoints.Lock storeLock = mountPoints.lock()) {
                    if (usedElsewhere(MountTable.read(), dir)) {
                        // bound somewhere else too (say, by `kcfs mount`): its owner releases it
                        users.remove(digest);
                        return;
                    }
                    mounter.unmount(dir);
                    // a mount left by an older run may be stacked underneath: clear them all
                    for (int i = 0; i < 16 && MountTable.read().isMountPoint(dir); i++) {
                        kernel.detach(dir);
                    }
                    mountPoints.remove(digest);
                }
                users.remove(digest);
            }
        }
    }

    /** Whether a mount other than {@code dir} itself shows the same file system as the shared mount at {@code dir}. */
    static boolean usedElsewhere(MountTable table, Path dir) {
        return table.at(dir).map(shared -> table.entries().stream()
                .anyMatch(e -> e.device().equals(shared.device()) && !e.mountPoint().equals(dir))).orElse(false);
    }

    /** Restart recovery: a shared mount found in the mount table with these users. */
    void adopt(Digest digest, Set<Path> targets) {
        users.computeIfAbsent(digest, d -> new HashSet<>()).addAll(targets);
    }

    int count() {
        return users.size();
    }

    Set<Digest> digests() {
        return Set.copyOf(users.keySet());
    }

    int users(Digest digest) {
        Set<Path> s = users.get(digest);
        return s == null ? 0 : s.size();
    }

    private void removeQuietly(Digest digest) {
        try {
            mountPoints.remove(digest);
        } catch (IOException | RuntimeException ignored) {
            // recovery removes unused mount points on the next start
        }
    }

    private KeyedLocks.Held lockOrAbort(Digest digest, long timeoutNanos) throws InterruptedException {
        KeyedLocks.Held held = locks.tryLock(digest, timeoutNanos);
        if (held == null) {
            throw new CsiException(io.grpc.Status.Code.ABORTED, "the shared mount of image digest " + digest.hex()
                    + " is busy with another operation for longer than "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms; kubelet will retry");
        }
        return held;
    }
}
