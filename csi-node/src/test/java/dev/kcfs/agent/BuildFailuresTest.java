package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.SecretRef;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestRegistry;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Builds that cannot succeed say why, on the node and (through the operator) on the image; fixing the cause heals them. */
class BuildFailuresTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String WRONG = "ab".repeat(32);

    @RegisterExtension static TestRegistry registry = TestRegistry.anonymous();
    @RegisterExtension static TestRegistry secured = TestRegistry.basicAuth("kcfs", "s3cret-pw");

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    TestNode n1;
    TestNode n2;

    @BeforeEach
    void setUp() throws Exception {
        cluster = agents.cluster();
        cluster.node("n1", Map.of("zone", "a"));
        cluster.node("n2", Map.of("zone", "a"));
    }

    @Test
    void wrongExpectedDigestFailsOnEveryNodeAndDegradesTheImageUntilFixed() throws Exception {
        AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        cluster.startOperator();
        n1 = agents.node("n1").startAgent();
        n2 = agents.node("n2").startAgent();
        cluster.apply(
                "tools",
                registry.address() + "/kcfs/tools:v1",
                null,
                spec -> spec.setExpectedDigest(WRONG));

        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            for (String node : List.of("n1", "n2")) {
                                NodeImage r = cluster.report(node, "tools");
                                assertThat(r).as("report of %s", node).isNotNull();
                                assertThat(r.getState()).isEqualTo(ImageState.Failed);
                                assertThat(r.getMessage())
                                        .contains("spec.expectedDigest is " + WRONG)
                                        .contains("not retried");
                            }
                            cluster.assertCondition("tools", "Degraded", "True", "BuildFailed");
                            cluster.assertCondition("tools", "Ready", "False", "Degraded");
                            assertThat(cluster.image("tools").getStatus().getNodes().getFailed())
                                    .isEqualTo(2);
                        });
        assertThat(cluster.condition("tools", "Degraded").getMessage()).contains(WRONG);
        // a wrong image is never offered for mounting
        assertThat(n1.store.ref("tools")).isEmpty();
        assertThat(n2.store.ref("tools")).isEmpty();

        // the right digest (what an independent import of the image gives) heals it
        String right =
                ReferenceBuild.digest(agents.tmp().resolve("ref"), registry, "kcfs/tools:v1");
        agents.client()
                .resources(dev.kcfs.api.ComposefsImage.class)
                .withName("tools")
                .edit(
                        ci -> {
                            ci.getSpec().setExpectedDigest(right);
                            return ci;
                        });
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("tools", "Ready", "True", "AllNodesReady");
                            cluster.assertCondition("tools", "Degraded", "False", "AsExpected");
                        });
        assertThat(n1.store.ref("tools").orElseThrow().hex()).isEqualTo(right);
        assertThat(n2.store.ref("tools").orElseThrow().hex()).isEqualTo(right);

        // an expectedDigest that stops matching what was built takes the image out of service
        agents.client()
                .resources(dev.kcfs.api.ComposefsImage.class)
                .withName("tools")
                .edit(
                        ci -> {
                            ci.getSpec().setExpectedDigest(WRONG);
                            return ci;
                        });
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.reported("n1", "tools");
                            assertThat(r.getState()).isEqualTo(ImageState.Failed);
                            assertThat(r.getMessage())
                                    .contains(
                                            "has digest "
                                                    + right
                                                    + " but spec.expectedDigest is "
                                                    + WRONG);
                            assertThat(n1.store.ref("tools")).isEmpty();
                            assertThat(n1.store.images()).as("and GC frees it").isEmpty();
                            cluster.assertCondition("tools", "Degraded", "True", "BuildFailed");
                        });
    }

    @Test
    void missingPullSecretSaysWhichAndHealsOnceItExists() throws Exception {
        TestImage image = AgentCluster.testImage();
        String manifest = image.push(secured.pusher(), "kcfs/private", "v1");
        n1 = agents.node("n1").startAgent();
        cluster.apply(
                "private",
                secured.address() + "/kcfs/private:v1",
                null,
                spec ->
                        spec.getSource()
                                .setPullSecrets(List.of(new SecretRef("team-a", "regcred"))));
        // without the operator: status.resolvedImage as the operator writes it
        cluster.pin("private", secured.address() + "/kcfs/private@" + manifest);

        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.report("n1", "private");
                            assertThat(r).isNotNull();
                            assertThat(r.getState()).isEqualTo(ImageState.Failed);
                            assertThat(r.getMessage())
                                    .contains(
                                            "pull secret team-a/regcred of ComposefsImage private does not exist")
                                    .contains("kubernetes.io/dockerconfigjson")
                                    .contains("retrying in");
                        });
        assertThat(n1.store.refs()).isEmpty();

        agents.client()
                .secrets()
                .inNamespace("team-a")
                .resource(
                        new SecretBuilder()
                                .withNewMetadata()
                                .withName("regcred")
                                .withNamespace("team-a")
                                .endMetadata()
                                .withType("kubernetes.io/dockerconfigjson")
                                .addToData(
                                        ".dockerconfigjson",
                                        Base64.getEncoder()
                                                .encodeToString(secured.dockerConfigJson()))
                                .build())
                .create();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.reported("n1", "private");
                            assertThat(r.getState())
                                    .as("%s", r.getMessage())
                                    .isEqualTo(ImageState.Ready);
                            assertThat(r.getMessage()).isNull();
                        });
        assertThat(n1.store.ref("private").orElseThrow().hex())
                .isEqualTo(cluster.reported("n1", "private").getDigest());
    }

    @Test
    void unreachableRegistryIsRetriedWithBackoffAndSaysSo() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        n1 = agents.node("n1").startAgent();
        String gone = "127.0.0.1:" + closedPort + "/kcfs/tools@sha256:" + "12".repeat(32);
        cluster.apply("offline", gone, null, spec -> {});
        cluster.pin("offline", gone);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.reported("n1", "offline");
                            assertThat(r.getState()).isEqualTo(ImageState.Failed);
                            assertThat(r.getMessage())
                                    .startsWith(
                                            "cannot build " + gone + " (ComposefsImage offline)")
                                    .contains("retrying in");
                        });
        // retried: the attempt count in the message grows
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "offline").getMessage())
                                        .containsPattern("attempt [2-9]"));
        assertThat(n1.store.refs()).isEmpty();
    }

    /** An image the writer cannot hold used to hang the build with the store's GC lock held. */
    @Test
    void hostileLayerFailsItsBuildNamingTheEntryAndTheNodeBuildsOn() throws Exception {
        dev.kcfs.oci.tar.TarBuilder.Entry many =
                new dev.kcfs.oci.tar.TarBuilder().entry("etc/many");
        for (int i = 0; i < 30_000; i++) {
            many.xattr(String.format("user.x%05d", i), new byte[0]);
        }
        TestImage hostile =
                new TestImage(
                        dev.kcfs.oci.Platform.current().architecture(),
                        List.of(TestImage.Layer.gzip(many.add().build())));
        String digest = AgentCluster.push(registry, hostile, "kcfs/hostile", "v1");
        AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        n1 = agents.node("n1").startAgent();
        cluster.apply("hostile", registry.address() + "/kcfs/hostile:v1", null, spec -> {});
        cluster.pin("hostile", registry.address() + "/kcfs/hostile@" + digest);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.reported("n1", "hostile");
                            assertThat(r.getState()).isEqualTo(ImageState.Failed);
                            assertThat(r.getMessage()).contains("entry etc/many has 30000 xattrs");
                        });
        // between the (fast) retries of the test node, nothing is held
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            try (java.util.stream.Stream<Path> leases =
                                    java.nio.file.Files.list(n1.store.root().resolve("leases"))) {
                                assertThat(leases)
                                        .as("no lease left by the failed build")
                                        .isEmpty();
                            }
                            assertThat(n1.store.gc(true, Duration.ofSeconds(5)).ran())
                                    .as("GC gets the store's lock")
                                    .isTrue();
                        });
        String tools = AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        cluster.apply("tools", registry.address() + "/kcfs/tools:v1", null, spec -> {});
        cluster.pin("tools", registry.address() + "/kcfs/tools@" + tools);
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "tools").getState())
                                        .isEqualTo(ImageState.Ready));
    }
}
