package dev.kcfs.publish;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.util.Optional;

/** Resolves a ComposefsImage name to what the node store holds for it. */
public interface BuiltImages {
    /** The image built on this node for {@code name}, or empty when the node does not have it (yet). */
    Optional<ResolvedImage> resolve(String name) throws IOException;

    /**
     * Why the node can no longer serve every file of a mounted image (say, objects that
     * {@code kcfs store fsck} quarantined), for the volume condition; empty when nothing is known wrong.
     */
    default Optional<String> damage(Digest imageDigest) throws IOException {
        return Optional.empty();
    }
}
