package dev.kcfs.agent;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.image.erofs.ErofsFormat;
import dev.kcfs.oci.Platform;

/**
 * What decides the bytes of a build: the pinned image reference, the composefs format version and the
 * platform. Two builds with equal keys give the same composefs digest, so a Ready image is rebuilt
 * only when its key changes (pull secrets and expectedDigest change access and checks, not bytes).
 */
record BuildKey(String imageRef, int formatVersion, String platform) {
    /** The key of the image as it stands, or null while the operator has not pinned it yet. */
    static BuildKey of(ComposefsImage ci) {
        if (ci.getStatus() == null || ci.getStatus().getResolvedImage() == null) {
            return null;
        }
        ComposefsImageSpec spec = ci.getSpec();
        Integer fv = spec == null ? null : spec.getFormatVersion();
        String platform =
                spec == null || spec.getSource() == null ? null : spec.getSource().getPlatform();
        return new BuildKey(
                ci.getStatus().getResolvedImage(),
                fv == null ? ErofsFormat.DEFAULT_FORMAT_VERSION : fv,
                platform == null ? Platform.current().toString() : platform);
    }
}
