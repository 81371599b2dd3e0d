package dev.kcfs.csi;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * The directories {@code mounts/<digest>/} of the shared image mounts. In the node store a mount
 * point's existence is the in-use record that keeps GC away from the image, so it is created
 * before mounting and removed only after unmounting.
 */
public interface MountPoints {
    Path pathOf(Digest image);

    /** Creates the mount point (and so the in-use record) of {@code image}. */
    Path create(Digest image) throws IOException;

    /** Removes the mount point of {@code image} once nothing is mounted there. */
    void remove(Digest image) throws IOException;

    /**
     * Held while a shared mount is made or removed, so other processes on the node that mount
     * images from the same store ({@code kcfs mount}, its release of unused mounts) never see a
     * shared mount between "mounted" and "in use". Plain directories need no lock.
     */
    default Lock lock() throws IOException {
        return () -> { };
    }

    /** A held lock; closing it cannot fail. */
    @FunctionalInterface
    interface Lock extends AutoCloseable {
        @Override
        void close();
    }

    /** The images that have a mount point (mounted or left behind by a crash). */
    Set<Digest> recorded() throws IOException;

    /** Plain directories under {@code mountsDir}. */
    static MountPoints under(Path mountsDir) {
        return new MountPoints() {
            @Override
            public Path pathOf(Digest image) {
                return mountsDir.resolve(image.hex());
            }

            @Override
            public Path create(Digest image) throws IOException {
                return Files.createDirectories(pathOf(image));
            }

            @Override
            public void remove(Digest image) throws IOException {
                Files.deleteIfExists(pathOf(image));
            }

            @Override
            public Set<Digest> recorded() throws IOException {
                Set<Digest> out = new TreeSet<>();
                if (!Files.isDirectory(mountsDir)) {
                    return out;
                }
                try (DirectoryStream<Path> dirs = Files.newDirectoryStream(mountsDir)) {
                    for (Path p : dirs) {
                        try {
                            out.add(Digest.parse(p.getFileName().toString()));
                        } catch (IllegalArgumentException e) {
                            // not a mount point of ours
                        }
                    }
                }
                return out;
            }
        };
    }
}
