package dev.kcfs.csi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.csi.v1.ControllerGetCapabilitiesRequest;
import dev.kcfs.csi.v1.ControllerServiceCapability;
import dev.kcfs.csi.v1.GetPluginCapabilitiesRequest;
import dev.kcfs.csi.v1.GetPluginInfoRequest;
import dev.kcfs.csi.v1.NodeGetCapabilitiesRequest;
import dev.kcfs.csi.v1.NodeGetInfoRequest;
import dev.kcfs.csi.v1.NodeServiceCapability;
import dev.kcfs.csi.v1.ProbeRequest;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** What tells kubelet and the sidecars the plugin is there and well: CSI Identity (name, capabilities, Probe), the controller capabilities it does not have, node info, and /healthz. */
@Tag("root")
class IdentityAndHealthTest extends CsiNodeTest {
    IdentityAndHealthTest() {
        super("tools");
    }

    @Override
    void configure(CsiTestNode node) {
        node.access = TmpfsImages.access(Map.of("tools", Set.of("team-a")));
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
}
