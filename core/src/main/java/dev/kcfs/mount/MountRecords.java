package dev.kcfs.mount;

import dev.kcfs.store.Store;
import dev.kcfs.store.StoreException;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Where the shared mounts of images live and what is known about them: the directory
 * {@code mounts/<digest>/} (its existence is the in-use record that keeps GC away from the image,
 * so it is created before mounting and removed only after unmounting), the verity mode the mount
 * was made with, and the lock every change to shared mounts and their binds holds, across threads
 * and processes.
 */
public interface MountRecords {
    Path pathOf(Digest image);

    /** Creates the in-use record (the mount point) of {@code image}, without a verity mode yet. */
    void create(Digest image) throws IOException;

    /** Records how strictly the shared mount of {@code image} checks file bodies. */
    void setVerity(Digest image, VerityMode mode) throws IOException;

    /** The recorded verity mode; empty when none was recorded (a crash, or an older kcfs): treat as {@link VerityMode#OFF}. */
    Optional<VerityMode> verity(Digest image) throws IOException;

    /** Removes the record of {@code image} once nothing is mounted there. */
    void remove(Digest image) throws IOException;

    /** The images that have a record (mounted, or left behind by a crash or a reboot). */
    Set<Digest> recorded() throws IOException;

    /** The lock over shared mounts; null when it is not free within {@code wait}. */
    Held lock(Duration wait) throws IOException;

    /** A held lock; closing it cannot fail. */
    @FunctionalInterface
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /** The records of a node store: {@code mounts/} and its {@code mounts.lock}. */
    static MountRecords of(Store store) {
        return new MountRecords() {
            @Override
            public Path pathOf(Digest image) {
                return store.mountPoint(image);
            }

            @Override
            public void create(Digest image) throws StoreException {
                store.recordMount(image);
            }

            @Override
            public void setVerity(Digest image, VerityMode mode) throws StoreException {
                store.setMountNote(image, "verity=" + mode.name());
            }

            @Override
            public Optional<VerityMode> verity(Digest image) throws StoreException {
                return store.readMountNote(image)
                        .flatMap(
                                note -> {
                                    try {
                                        return note.startsWith("verity=")
                                                ? Optional.of(VerityMode.valueOf(note.substring(7)))
                                                : Optional.empty();
                                    } catch (IllegalArgumentException e) {
                                        return Optional
                                                .empty(); // unknown: the weakest, so nothing strict
                                        // is served from it
                                    }
                                });
            }

            @Override
            public void remove(Digest image) throws StoreException {
                store.removeMountRecord(image);
            }

            @Override
            public Set<Digest> recorded() throws StoreException {
                return store.mountRecords();
            }

            @Override
            public Held lock(Duration wait) throws StoreException {
                Store.Held held = store.lockMounts(wait);
                return held == null ? null : held::close;
            }
        };
    }
}
