package dev.kcfs.mount;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Path;

/** Makes the shared, read-only mount of one image at its (existing, empty) mount point. */
@FunctionalInterface
public interface ImageMounter {
    /** Mounts {@code image} at {@code mountpoint} with {@code verity}; says whether verity is enforced. */
    Mounted mount(Digest image, Path mountpoint, VerityMode verity) throws IOException;
}
