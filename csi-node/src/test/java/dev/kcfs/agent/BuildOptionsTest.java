package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ImageState;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.verity.Digest;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** spec.formatVersion decides the composefs format the node writes; a changed spec rebuilds. */
class BuildOptionsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension static TestRegistry registry = TestRegistry.anonymous();

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    TestNode n1;

    @BeforeEach
    void setUp() throws Exception {
        cluster = agents.cluster();
        cluster.node("n1", Map.of());
    }

    @Test
    void formatVersionFromTheSpecAndRebuildOnChange() throws Exception {
        String manifest = AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        n1 = agents.node("n1").startAgent();
        cluster.apply(
                "old-kernels",
                registry.address() + "/kcfs/tools:v1",
                null,
                spec -> spec.setFormatVersion(0));
        cluster.pin("old-kernels", registry.address() + "/kcfs/tools@" + manifest);
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "old-kernels").getState())
                                        .isEqualTo(ImageState.Ready));
        Digest v0 = n1.store.ref("old-kernels").orElseThrow();
        assertThat(ErofsReader.read(n1.store.imagePath(v0)).version()).isZero();
        assertThat(cluster.reported("n1", "old-kernels").getDigest()).isEqualTo(v0.hex());

        agents.client()
                .resources(dev.kcfs.api.ComposefsImage.class)
                .withName("old-kernels")
                .edit(
                        ci -> {
                            ci.getSpec().setFormatVersion(null); // default: 1
                            return ci;
                        });
        String expected =
                ReferenceBuild.digest(agents.tmp().resolve("ref"), registry, "kcfs/tools:v1");
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(cluster.reported("n1", "old-kernels").getDigest())
                                    .isEqualTo(expected);
                            assertThat(cluster.reported("n1", "old-kernels").getState())
                                    .isEqualTo(ImageState.Ready);
                        });
        Digest v1 = n1.store.ref("old-kernels").orElseThrow();
        assertThat(ErofsReader.read(n1.store.imagePath(v1)).version()).isEqualTo(1);
        // the version-0 image is unreferenced now: GC takes it
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(n1.store.images()).containsOnlyKeys(v1));
    }
}
