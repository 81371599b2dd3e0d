package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.oci.registry.TamperingProxy;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** An agent stopped in the middle of a build (a DaemonSet pod restart) and a new one on the same store. */
class AgentRestartTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension static TestRegistry registry = TestRegistry.anonymous();

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    TestNode n1;
    TamperingProxy proxy;

    @BeforeEach
    void setUp() throws Exception {
        cluster = agents.cluster();
        proxy = new TamperingProxy(registry.address(), TamperingProxy.Mode.GATE_LARGE_BLOBS);
    }

    @AfterEach
    void tearDown() {
        proxy.close();
    }

    @Test
    void restartInTheMiddleOfABuildResumesAndEndsWithTheRightImage() throws Exception {
        String manifest = AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        String expected =
                ReferenceBuild.digest(agents.tmp().resolve("ref"), registry, "kcfs/tools:v1");
        cluster.node("n1", Map.of());
        n1 = agents.node("n1").startAgent();
        cluster.apply("tools", proxy.address() + "/kcfs/tools:v1", null, spec -> {});
        cluster.pin("tools", proxy.address() + "/kcfs/tools@" + manifest);

        // the first agent is half-way through a layer when its pod goes
        assertThat(proxy.stalled.await(60, TimeUnit.SECONDS))
                .as("the build reached the slow layer")
                .isTrue();
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "tools").getState())
                                        .isEqualTo(ImageState.Building));
        n1.agent.close();
        assertThat(n1.store.ref("tools")).isEmpty();
        proxy.release();

        // a new agent on the same store builds it to the end
        n1.startAgent();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.reported("n1", "tools");
                            assertThat(r.getState())
                                    .as("%s", r.getMessage())
                                    .isEqualTo(ImageState.Ready);
                            assertThat(r.getDigest()).isEqualTo(expected);
                        });
        assertThat(n1.store.ref("tools").orElseThrow().hex()).isEqualTo(expected);
        // nothing of the interrupted build is left once GC ran: no temporary ref, no lease, a clean
        // store
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(n1.store.refs()).containsOnlyKeys("tools");
                            assertThat(n1.store.images()).hasSize(1);
                            try (Stream<Path> leases =
                                    Files.list(n1.store.root().resolve("leases"))) {
                                assertThat(leases).isEmpty();
                            }
                        });
        Store.FsckReport fsck = n1.store.fsck(true, 1);
        assertThat(fsck.clean()).as("fsck: %s", fsck).isTrue();

        // and a third start finds it built: no rebuild, the same report
        long before =
                Files.getLastModifiedTime(n1.store.imagePath(n1.store.ref("tools").orElseThrow()))
                        .toMillis();
        n1.restartAgent();
        await().during(Duration.ofSeconds(1))
                .atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "tools").getState())
                                        .isEqualTo(ImageState.Ready));
        assertThat(
                        Files.getLastModifiedTime(
                                        n1.store.imagePath(n1.store.ref("tools").orElseThrow()))
                                .toMillis())
                .isEqualTo(before);
    }
}
