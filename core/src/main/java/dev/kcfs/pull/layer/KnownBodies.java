package dev.kcfs.pull.layer;

import dev.kcfs.oci.tar.TarEntry;
import dev.kcfs.verity.Digest;
import java.io.IOException;

/**
 * Tells a {@link TreeBuilder} which file bodies in a layer's tar the store already holds, so they
 * are neither hashed nor written again (a partial pull puts the stored object's bytes in the tar
 * stream only so the layer's diff_id can still be checked). Asked for every regular file with a
 * body, in tar order; may refuse an entry (an IOException naming it) when the layer's own index
 * disagrees with the tar.
 */
@FunctionalInterface
public interface KnownBodies {
    KnownBodies NONE = (tarOffset, entry) -> null;

    /**
     * @param tarOffset where the body starts in the uncompressed tar
     * @return the object holding exactly this body, or null to store the body from the stream
     */
    Digest known(long tarOffset, TarEntry entry) throws IOException;
}
