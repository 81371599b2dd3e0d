package dev.kcfs.publish;

import dev.kcfs.mount.VerityMode;

/**
 * How strictly the kernel must check an image's file bodies against their fs-verity digests when
 * the node mounts it: {@code spec.verity} of its ComposefsImage (the node agent answers from its
 * watch cache), else the node's default ({@code kcfs-node --verity}).
 */
@FunctionalInterface
public interface ImageVerity {
    VerityMode verityOf(String imageName);

    /** The same mode for every image (no node agent, or tests). */
    static ImageVerity fixed(VerityMode mode) {
        return name -> mode;
    }
}
