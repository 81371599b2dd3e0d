package dev.kcfs.csi;

import java.io.IOException;
import java.util.Optional;

/** Resolves a ComposefsImage name to what the node store holds for it. */
public interface ImageSource {
    /** The image built on this node for {@code name}, or empty when the node does not have it (yet). */
    Optional<ResolvedImage> resolve(String name) throws IOException;
}
