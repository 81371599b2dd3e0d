package dev.kcfs.csi;

import dev.kcfs.csi.v1.NodePublishVolumeRequest;
import dev.kcfs.csi.v1.NodeUnpublishVolumeRequest;
import dev.kcfs.csi.v1.VolumeCapability;
import java.nio.file.Path;

/** The node requests as kubelet sends them for an inline volume with podInfoOnMount, for every test that publishes. */
public final class KubeletRequests {
    private KubeletRequests() {}

    /** A read-only publish of {@code image} for a pod in namespace {@code default}. */
    public static NodePublishVolumeRequest.Builder publish(
            String volumeId, Path target, String image) {
        return publish(volumeId, target, image, "default");
    }

    /** A read-only publish of {@code image} for a pod in {@code namespace}. */
    public static NodePublishVolumeRequest.Builder publish(
            String volumeId, Path target, String image, String namespace) {
        return NodePublishVolumeRequest.newBuilder()
                .setVolumeId(volumeId)
                .setTargetPath(target.toString())
                .setReadonly(true)
                .setVolumeCapability(
                        VolumeCapability.newBuilder()
                                .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                                .setAccessMode(
                                        VolumeCapability.AccessMode.newBuilder()
                                                .setMode(
                                                        VolumeCapability.AccessMode.Mode
                                                                .SINGLE_NODE_WRITER)))
                .putVolumeContext("image", image)
                .putVolumeContext("csi.storage.k8s.io/pod.name", "pod-" + volumeId)
                .putVolumeContext("csi.storage.k8s.io/pod.namespace", namespace)
                .putVolumeContext("csi.storage.k8s.io/pod.uid", "uid-" + volumeId)
                .putVolumeContext("csi.storage.k8s.io/serviceAccount.name", "default")
                .putVolumeContext("csi.storage.k8s.io/ephemeral", "true");
    }

    /** A publish with a writable overlay on top of the image. */
    public static NodePublishVolumeRequest.Builder publishWritable(
            String volumeId, Path target, String image) {
        return publish(volumeId, target, image)
                .setReadonly(false)
                .putVolumeContext("writable", "true");
    }

    public static NodeUnpublishVolumeRequest unpublish(String volumeId, Path target) {
        return NodeUnpublishVolumeRequest.newBuilder()
                .setVolumeId(volumeId)
                .setTargetPath(target.toString())
                .build();
    }
}
