package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.publishWritable;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.csi.v1.NodeGetVolumeStatsRequest;
import dev.kcfs.csi.v1.NodeGetVolumeStatsResponse;
import dev.kcfs.csi.v1.VolumeUsage;
import dev.kcfs.mount.KernelMounts;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** NodeGetVolumeStats of published volumes: usage and health of the right volume, NOT_FOUND for a path that is not one. */
@Tag("root")
class VolumeStatsTest extends CsiNodeTest {
    VolumeStatsTest() {
        super("tools");
    }

    @Override
    void configure(CsiTestNode node) {
        node.access = TmpfsImages.access(Map.of("tools", Set.of("team-a")));
    }

    @Test
    void allowedNamespaceMountsAndVolumeStatsReportIt() throws Exception {
        Path target = node.target("pod-a");
        node.node()
                .nodePublishVolume(
                        publishWritable("vol-a", target, "tools")
                                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "team-a")
                                .build());

        NodeGetVolumeStatsResponse stats =
                node.node()
                        .nodeGetVolumeStats(
                                NodeGetVolumeStatsRequest.newBuilder()
                                        .setVolumeId("vol-a")
                                        .setVolumePath(target.toString())
                                        .build());
        assertThat(stats.getVolumeCondition().getAbnormal()).isFalse();
        assertThat(stats.getVolumeCondition().getMessage()).contains("tools").contains("writable");
        assertThat(stats.getUsageList())
                .singleElement()
                .satisfies(
                        u -> {
                            assertThat(u.getUnit()).isEqualTo(VolumeUsage.Unit.BYTES);
                            assertThat(u.getTotal()).isPositive();
                        });

        new KernelMounts().unmount(target);
        stats =
                node.node()
                        .nodeGetVolumeStats(
                                NodeGetVolumeStatsRequest.newBuilder()
                                        .setVolumeId("vol-a")
                                        .setVolumePath(target.toString())
                                        .build());
        assertThat(stats.getVolumeCondition().getAbnormal()).isTrue();
        assertThat(stats.getVolumeCondition().getMessage()).contains("no longer mounted");

        PublishTest.assertCode(
                () ->
                        node.node()
                                .nodeGetVolumeStats(
                                        NodeGetVolumeStatsRequest.newBuilder()
                                                .setVolumeId("vol-b")
                                                .setVolumePath(target.toString())
                                                .build()),
                Status.Code.NOT_FOUND,
                "vol-b is not published");
        PublishTest.assertCode(
                () ->
                        node.node()
                                .nodeGetVolumeStats(
                                        NodeGetVolumeStatsRequest.newBuilder()
                                                .setVolumeId("vol-a")
                                                .build()),
                Status.Code.INVALID_ARGUMENT,
                "volume_path is empty");
    }

    /** csi-sanity's "NodeGetVolumeStats should fail when volume does not exist on the specified path". */
    @Test
    void volumeStatsOfAPublishedVolumeAskedAtAnotherPathAreNotFound() throws Exception {
        Path target = node.target("pod-a");
        node.node()
                .nodePublishVolume(
                        publish("vol-a", target, "tools")
                                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "team-a")
                                .build());

        PublishTest.assertCode(
                () ->
                        node.node()
                                .nodeGetVolumeStats(
                                        NodeGetVolumeStatsRequest.newBuilder()
                                                .setVolumeId("vol-a")
                                                .setVolumePath("some/path")
                                                .build()),
                Status.Code.NOT_FOUND,
                "vol-a is not published at some/path");
        Path other = node.target("pod-b");
        PublishTest.assertCode(
                () ->
                        node.node()
                                .nodeGetVolumeStats(
                                        NodeGetVolumeStatsRequest.newBuilder()
                                                .setVolumeId("vol-a")
                                                .setVolumePath(other.toString())
                                                .build()),
                Status.Code.NOT_FOUND,
                "vol-a is not published at " + other);
        assertThat(
                        node.node()
                                .nodeGetVolumeStats(
                                        NodeGetVolumeStatsRequest.newBuilder()
                                                .setVolumeId("vol-a")
                                                .setVolumePath(target.toString())
                                                .build())
                                .getUsageCount())
                .isEqualTo(1);
    }
}
