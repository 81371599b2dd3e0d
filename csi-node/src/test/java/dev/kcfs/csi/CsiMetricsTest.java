package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The node plugin /metrics: publish and unpublish counters, errors, latency, mounts and store figures, and the series that exist at 0 before the first call. */
@Tag("root")
class CsiMetricsTest extends CsiNodeTest {
    CsiMetricsTest() {
        super("tools");
    }

    @Override
    void configure(CsiTestNode node) {
        node.access = TmpfsImages.access(Map.of("tools", Set.of("team-a")));
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
                .contains("kcfs_publish_duration_seconds_bucket{result=\"OK\",le=")
                .contains("kcfs_csi_errors_total{code=\"NOT_FOUND\",rpc=\"NodePublishVolume\"} 0.0")
                .contains(
                        "kcfs_csi_errors_total{code=\"FAILED_PRECONDITION\",rpc=\"NodePublishVolume\"} 0.0")
                .contains(
                        "kcfs_csi_errors_total{code=\"NOT_FOUND\",rpc=\"NodeGetVolumeStats\"} 0.0");
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
}
