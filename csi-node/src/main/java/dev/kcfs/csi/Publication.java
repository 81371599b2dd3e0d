package dev.kcfs.csi;

import dev.kcfs.verity.Digest;
import java.nio.file.Path;

/**
 * One volume published at one target path: what kubelet asked for (volume id, image name,
 * writable, readonly) and what was mounted (the image digest).
 */
public record Publication(String volumeId, Path target, String image, Digest digest, boolean writable,
                          boolean readonly) {
    /** Whether a repeated publish at the same target asks for the same thing (CSI idempotency). */
    boolean sameRequest(VolumeSpec spec) {
        return volumeId.equals(spec.volumeId()) && image.equals(spec.image()) && writable == spec.writable()
                && readonly == spec.readonly();
    }
}
