package dev.kcfs.csi;

import dev.kcfs.mount.MountTable;
import dev.kcfs.verity.Digest;
import java.nio.file.Path;

/**
 * One volume published at one target path: what kubelet asked for (volume id, image name,
 * writable, readonly) and what was mounted (the image digest, and the mount made at the target as
 * mountinfo shows it, id and device, or null when unknown: unpublish checks it is gone).
 */
public record Publication(
        String volumeId,
        Path target,
        String imageName,
        Digest digest,
        boolean writable,
        boolean readonly,
        MountTable.Entry mount) {
    Publication withMount(MountTable.Entry m) {
        return new Publication(volumeId, target, imageName, digest, writable, readonly, m);
    }

    /** Whether {@code e} is the mount this publication made (an id alone can be reused once it is gone). */
    boolean madeMount(MountTable.Entry e) {
        return mount != null
                && e.id() == mount.id()
                && e.device().equals(mount.device())
                && e.root().equals(mount.root());
    }

    /** Whether a repeated publish at the same target asks for the same thing (CSI idempotency). */
    boolean sameRequest(VolumeSpec spec) {
        return volumeId.equals(spec.volumeId())
                && imageName.equals(spec.imageName())
                && writable == spec.writable()
                && readonly == spec.readonly();
    }
}
