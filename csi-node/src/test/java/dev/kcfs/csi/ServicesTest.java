package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.publishWritable;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.csi.v1.ControllerGetCapabilitiesRequest;
import dev.kcfs.csi.v1.ControllerServiceCapability;
import dev.kcfs.csi.v1.GetPluginCapabilitiesRequest;
import dev.kcfs.csi.v1.GetPluginInfoRequest;
import dev.kcfs.csi.v1.NodeGetCapabilitiesRequest;
import dev.kcfs.csi.v1.NodeGetInfoRequest;
import dev.kcfs.csi.v1.NodeGetVolumeStatsRequest;
import dev.kcfs.csi.v1.NodeGetVolumeStatsResponse;
import dev.kcfs.csi.v1.NodeServiceCapability;
import dev.kcfs.csi.v1.ProbeRequest;
import dev.kcfs.csi.v1.VolumeUsage;
import dev.kcfs.mount.KernelMounts;
import dev.kcfs.testing.Root;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Identity, controller capabilities, health, node info, volume stats, metrics. */
@Tag("root")
class ServicesTest {
    @TempDir Path tmp;
    CsiTestNode node;

    @BeforeEach
    void start() throws IOException {
        Root.assumeRoot();
        node = CsiTestNode.overTmpfs(tmp, "tools");
        node.access = TmpfsImages.access(Map.of("tools", Set.of("team-a")));
        node.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void identityControllerAndHealthAnswerLikeACsiDriver() {
        var info = node.identity().getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
        assertThat(info.getName()).isEqualTo("csi.kcfs.dev");
        assertThat(info.getVendorVersion()).isEqualTo("test");
        assertThat(node.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue())
                .isTrue();
        assertThat(
                        node.identity()
                                .getPluginCapabilities(
                                        GetPluginCapabilitiesRequest.getDefaultInstance())
                                .getCapabilitiesList())
                .isEmpty();
        assertThat(
                        node.controller()
                                .controllerGetCapabilities(
                                        ControllerGetCapabilitiesRequest.getDefaultInstance())
                                .getCapabilitiesList())
                .extracting(c -> c.getRpc().getType())
                .containsExactly(ControllerServiceCapability.RPC.Type.PUBLISH_READONLY);
        assertThat(node.health().check(HealthCheckRequest.getDefaultInstance()).getStatus())
                .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThat(node.node().nodeGetInfo(NodeGetInfoRequest.getDefaultInstance()).getNodeId())
                .isEqualTo("node-1");
        assertThat(
                        node.node()
                                .nodeGetCapabilities(
                                        NodeGetCapabilitiesRequest.getDefaultInstance())
                                .getCapabilitiesList())
                .extracting(c -> c.getRpc().getType())
                .containsExactly(
                        NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
                        NodeServiceCapability.RPC.Type.VOLUME_CONDITION);
    }

    @Test
    void healthzAnswersOkAndThenWhatIsWrong() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest healthz =
                HttpRequest.newBuilder(
                                URI.create(
                                        "http://127.0.0.1:"
                                                + node.plugin.metricsPort()
                                                + "/healthz"))
                        .build();
        HttpResponse<String> ok = http.send(healthz, HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("ok\n");

        Path moved = tmp.resolve("store-moved");
        java.nio.file.Files.move(node.store, moved);
        HttpResponse<String> broken = http.send(healthz, HttpResponse.BodyHandlers.ofString());
        assertThat(broken.statusCode()).isEqualTo(503);
        assertThat(broken.body()).contains("the node store " + node.store + " is gone");
        java.nio.file.Files.move(moved, node.store);
        assertThat(http.send(healthz, HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(200);
    }

    @Test
    void probeFailsWhenTheStoreIsGone() throws Exception {
        Path moved = tmp.resolve("store-moved");
        java.nio.file.Files.move(node.store, moved);
        PublishTest.assertCode(
                () -> node.identity().probe(ProbeRequest.getDefaultInstance()),
                Status.Code.FAILED_PRECONDITION,
                "the node store " + node.store + " is gone");
        java.nio.file.Files.move(moved, node.store);
        assertThat(node.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue())
                .isTrue();
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

    private String scrape() throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(
                                        URI.create(
                                                "http://127.0.0.1:"
                                                        + node.plugin.metricsPort()
                                                        + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    @Test
    void publishSeriesExistAtZeroBeforeTheFirstCall() throws Exception {
        String metrics = scrape();
        // rate() needs a sample before the first event, or a freshly started plugin's publishes
        // never show
        assertThat(metrics)
                .contains("kcfs_csi_publishes_total{outcome=\"mounted\"} 0.0")
                .contains("kcfs_csi_publishes_total{outcome=\"already_published\"} 0.0")
                .contains("kcfs_csi_unpublishes_total 0.0")
                .contains("kcfs_publish_duration_seconds_count{result=\"OK\"} 0")
                .contains("kcfs_publish_duration_seconds_bucket{result=\"OK\",le=");
    }

    @Test
    void metricsCountPublishesErrorsLatencyMountsAndStore() throws Exception {
        Path a = node.target("pod-a");
        Path b = node.target("pod-b");
        node.node()
                .nodePublishVolume(
                        publish("vol-a", a, "tools")
                                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "team-a")
                                .build());
        node.node()
                .nodePublishVolume(
                        publish("vol-a", a, "tools")
                                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "team-a")
                                .build());
        node.node()
                .nodePublishVolume(
                        publish("vol-b", b, "tools")
                                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "team-a")
                                .build());
        Path c = node.target("pod-c");
        PublishTest.assertCode(
                () -> node.node().nodePublishVolume(publish("vol-c", c, "tools").build()),
                Status.Code.PERMISSION_DENIED,
                "team-a");
        node.node().nodeUnpublishVolume(unpublish("vol-b", b));

        String metrics = scrape();

        assertThat(metrics)
                .contains("kcfs_csi_publishes_total{outcome=\"mounted\"} 2.0")
                .contains("kcfs_csi_publishes_total{outcome=\"already_published\"} 1.0")
                .contains("kcfs_csi_unpublishes_total 1.0")
                .contains(
                        "kcfs_csi_errors_total{code=\"PERMISSION_DENIED\",rpc=\"NodePublishVolume\"} 1.0")
                .contains("kcfs_publish_duration_seconds_count{result=\"OK\"} 3")
                .contains("kcfs_publish_duration_seconds_bucket{result=\"OK\",le=")
                .contains("kcfs_mounts{kind=\"volume\"} 1.0")
                .contains("kcfs_mounts{kind=\"shared\"} 1.0")
                .contains("kcfs_store_objects 3.0")
                .contains("kcfs_store_dedup_ratio 3.0");
    }
}
