package dev.kcfs.csi;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Makes the node-wide mount of one image (erofs metadata + overlay over the object store) at a
 * directory, and removes it again. Publishing bind-mounts that directory into pods.
 */
public interface ImageMounter {
    /** Mounts {@code image} read-only at the existing empty directory {@code mountpoint}. */
    void mount(ResolvedImage image, Path mountpoint) throws IOException;

    /** Unmounts what {@link #mount} made at {@code mountpoint}. */
    void unmount(Path mountpoint) throws IOException;
}
