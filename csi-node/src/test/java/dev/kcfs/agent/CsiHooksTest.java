package dev.kcfs.agent;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.Verity;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.testing.Root;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the agent answers the CSI plugin: who may mount an image, and builds for pods whose image is not prebuilt. */
@Tag("root")
class CsiHooksTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension static TestRegistry registry = TestRegistry.anonymous();

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    TestNode n1;
    String manifest;

    @BeforeEach
    void setUp() throws Exception {
        Root.assumeRoot();
        cluster = agents.cluster();
        manifest = AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        cluster.node("n1", Map.of("role", "web"));
        n1 = agents.node("n1").withCsi();
    }

    private void image(String name, String role, List<String> namespaces) {
        cluster.apply(
                name,
                registry.address() + "/kcfs/tools:v1",
                new LabelSelectorBuilder().withMatchLabels(Map.of("role", role)).build(),
                spec -> spec.setAllowedNamespaces(namespaces));
        cluster.pin(name, registry.address() + "/kcfs/tools@" + manifest);
    }

    @Test
    void podsOutsideAllowedNamespacesAreRefused() throws Exception {
        image("restricted", "web", List.of("team-a", "team-b"));
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "restricted").getState())
                                        .isEqualTo(ImageState.Ready));

        Path denied = n1.target("pod-denied");
        assertThatThrownBy(
                        () ->
                                n1.csi()
                                        .nodePublishVolume(
                                                publish("vol-denied", denied, "restricted")
                                                        .build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode())
                                    .isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription())
                                    .contains("namespace default")
                                    .contains("[team-a, team-b]");
                        });
        assertThat(Files.exists(denied)).isFalse();

        Path allowed = n1.target("pod-allowed");
        n1.csi().nodePublishVolume(publish("vol-allowed", allowed, "restricted", "team-b").build());
        assertThat(Files.readString(allowed.resolve("etc/motd")))
                .isEqualTo("overridden by the middle layer\n");
        n1.csi().nodeUnpublishVolume(unpublish("vol-allowed", allowed));

        // the policy follows the ComposefsImage as it changes
        agents.client()
                .resources(dev.kcfs.api.ComposefsImage.class)
                .withName("restricted")
                .edit(
                        ci -> {
                            ci.getSpec().setAllowedNamespaces(List.of("team-a"));
                            return ci;
                        });
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThatThrownBy(
                                                () ->
                                                        n1.csi()
                                                                .nodePublishVolume(
                                                                        publish(
                                                                                        "vol-b2",
                                                                                        n1.target(
                                                                                                "pod-b2"),
                                                                                        "restricted",
                                                                                        "team-b")
                                                                                .build()))
                                        .isInstanceOfSatisfying(
                                                StatusRuntimeException.class,
                                                e ->
                                                        assertThat(e.getStatus().getCode())
                                                                .isEqualTo(
                                                                        Status.Code
                                                                                .PERMISSION_DENIED)));
    }

    @Test
    void eachImageIsMountedWithTheVerityItsSpecAsksFor() throws Exception {
        // this kernel has no fs-verity: Required must refuse to mount, Disabled and IfSupported
        // mount
        cluster.apply(
                "strict",
                registry.address() + "/kcfs/tools:v1",
                new LabelSelectorBuilder().withMatchLabels(Map.of("role", "web")).build(),
                spec -> spec.setVerity(Verity.Required));
        cluster.pin("strict", registry.address() + "/kcfs/tools@" + manifest);
        cluster.apply(
                "relaxed",
                registry.address() + "/kcfs/tools:v1",
                new LabelSelectorBuilder().withMatchLabels(Map.of("role", "web")).build(),
                spec -> spec.setVerity(Verity.Disabled));
        cluster.pin("relaxed", registry.address() + "/kcfs/tools@" + manifest);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(cluster.reported("n1", "strict").getState())
                                    .isEqualTo(ImageState.Ready);
                            assertThat(cluster.reported("n1", "relaxed").getState())
                                    .isEqualTo(ImageState.Ready);
                        });

        Path strict = n1.target("pod-strict");
        assertThatThrownBy(
                        () ->
                                n1.csi()
                                        .nodePublishVolume(
                                                publish("vol-strict", strict, "strict").build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode()).isNotEqualTo(Status.Code.OK);
                            assertThat(e.getStatus().getDescription())
                                    .contains("verity was required");
                        });
        assertThat(Files.readString(Path.of("/proc/self/mountinfo")))
                .doesNotContain(strict.toString());

        Path relaxed = n1.target("pod-relaxed");
        n1.csi().nodePublishVolume(publish("vol-relaxed", relaxed, "relaxed").build());
        assertThat(Files.readAllBytes(relaxed.resolve("bin/tool"))).isEqualTo(Fixtures.BIG);
        assertThat(
                        Files.readString(Path.of("/proc/self/mountinfo"))
                                .lines()
                                .filter(
                                        l ->
                                                l.contains(
                                                        n1.store
                                                                .root()
                                                                .resolve("mounts")
                                                                .toString())))
                .as("the shared mount of a Disabled image has no verity=require")
                .isNotEmpty()
                .noneMatch(l -> l.contains("verity=require"));
        n1.csi().nodeUnpublishVolume(unpublish("vol-relaxed", relaxed));

        // the node's mode (kcfs-node --verity, chart node.verity): REQUIRED overrides every spec; a
        // weaker one only fills in where no spec says (the API server defaults spec.verity)
        assertThat(n1.agent.policy(VerityMode.REQUIRED).verity().verityOf("relaxed"))
                .isEqualTo(VerityMode.REQUIRED);
        assertThat(n1.agent.policy(VerityMode.IF_SUPPORTED).verity().verityOf("relaxed"))
                .isEqualTo(VerityMode.OFF);
        assertThat(n1.agent.policy(VerityMode.OFF).verity().verityOf("strict"))
                .isEqualTo(VerityMode.REQUIRED);
        assertThat(n1.agent.policy(VerityMode.OFF).verity().verityOf("no-such-image"))
                .isEqualTo(VerityMode.OFF);
    }

    @Test
    void anImageNotPrebuiltHereIsBuiltWhenAPodAsksAndTheRetrySucceeds() throws Exception {
        image("lazy", "batch", List.of());
        // the agent saw it and, not selected, built nothing in the pass after
        await().atMost(WAIT).until(() -> n1.agent.sees("lazy"));
        long passes = n1.agent.planningPasses();
        n1.agent.poke();
        await().atMost(WAIT).until(() -> n1.agent.planningPasses() > passes);
        assertThat(n1.store.refs()).isEmpty();
        assertThat(cluster.report("n1", "lazy")).isNull();

        // kubelet retries a failed publish with backoff; every answer before success must say
        // "retry"
        Path target = n1.target("pod-lazy");
        List<String> answers = new ArrayList<>();
        await().atMost(WAIT)
                .pollInterval(Duration.ofMillis(200))
                .until(
                        () -> {
                            try {
                                n1.csi()
                                        .nodePublishVolume(
                                                publish("vol-lazy", target, "lazy").build());
                                return true;
                            } catch (StatusRuntimeException e) {
                                answers.add(
                                        e.getStatus().getCode()
                                                + ": "
                                                + e.getStatus().getDescription());
                                return false;
                            }
                        });
        assertThat(answers).isNotEmpty().allSatisfy(a -> assertThat(a).startsWith("UNAVAILABLE: "));
        assertThat(answers.get(0))
                .contains("ComposefsImage lazy is not built on node n1 yet")
                .contains("started building");
        assertThat(Files.readAllBytes(target.resolve("bin/tool"))).isEqualTo(Fixtures.BIG);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.reported("n1", "lazy");
                            assertThat(r.getState()).isEqualTo(ImageState.Ready);
                            assertThat(r.getMounts()).isEqualTo(1);
                        });

        // the agent's metrics are served with the plugin's
        String metrics = n1.scrape();
        assertThat(metrics)
                .contains("kcfs_images{state=\"Ready\"} 1.0")
                .contains("kcfs_build_duration_seconds_count{result=\"ok\"} 1")
                .containsPattern("kcfs_pull_bytes_total [1-9]")
                .contains("kcfs_mounts{kind=\"volume\"} 1.0");
        // a gzip layer is pulled whole: everything fetched, nothing partial
        assertThat(sample(metrics, "kcfs_pull_bytes_total"))
                .isEqualTo(sample(metrics, "kcfs_pull_layer_bytes_total"));
        assertThat(sample(metrics, "kcfs_pull_layers_total{how=\"whole\"}")).isPositive();
        assertThat(sample(metrics, "kcfs_pull_layers_total{how=\"partial\"}")).isZero();

        // unknown images are not retried forever
        assertThatThrownBy(
                        () ->
                                n1.csi()
                                        .nodePublishVolume(
                                                publish(
                                                                "vol-x",
                                                                n1.target("pod-x"),
                                                                "no-such-image")
                                                        .build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                            assertThat(e.getStatus().getDescription())
                                    .contains("no ComposefsImage named no-such-image");
                        });
        n1.csi().nodeUnpublishVolume(unpublish("vol-lazy", target));
    }

    /** A sample's value in Prometheus text, by name and labels as printed. */
    private static double sample(String metrics, String series) {
        return metrics.lines()
                .filter(l -> l.startsWith(series + " "))
                .map(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst()
                .orElseThrow(() -> new AssertionError(series + " is not in the scrape"));
    }
}
