package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ImageState;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.verity.Digest;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** spec.formatVersion decides the composefs format the node writes; a changed spec rebuilds. */
@EnableKubernetesMockClient(crud = true)
class BuildOptionsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    static TestRegistry registry = TestRegistry.anonymous();

    KubernetesClient client;
    @TempDir
    Path tmp;
    AgentCluster cluster;
    TestNode n1;

    @BeforeEach
    void setUp() throws Exception {
        cluster = new AgentCluster(client);
        cluster.node("n1", Map.of());
    }

    @AfterEach
    void tearDown() throws Exception {
        cluster.closeWith(n1);
    }

    @Test
    void formatVersionFromTheSpecAndRebuildOnChange() throws Exception {
        String manifest = AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
        n1 = new TestNode(client, "n1", tmp.resolve("n1"), TestNode.fast("n1")).startAgent();
        cluster.apply("old-kernels", registry.address() + "/kcfs/tools:v1", null, spec -> spec.setFormatVersion(0));
        cluster.pin("old-kernels", registry.address() + "/kcfs/tools@" + manifest);
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(cluster.reported("n1", "old-kernels").getState()).isEqualTo(ImageState.Ready));
        Digest v0 = n1.store.ref("old-kernels").orElseThrow();
        assertThat(ErofsReader.read(n1.store.imagePath(v0)).version()).isZero();
        assertThat(cluster.reported("n1", "old-kernels").getDigest()).isEqualTo(v0.hex());

        client.resources(dev.kcfs.api.ComposefsImage.class).withName("old-kernels").edit(ci -> {
            ci.getSpec().setFormatVersion(null); // default: 1
            return ci;
        });
        String expected = ReferenceBuild.digest(tmp.resolve("ref"), registry, "kcfs/tools:v1");
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(cluster.reported("n1", "old-kernels").getDigest()).isEqualTo(expected);
            assertThat(cluster.reported("n1", "old-kernels").getState()).isEqualTo(ImageState.Ready);
        });
        Digest v1 = n1.store.ref("old-kernels").orElseThrow();
        assertThat(ErofsReader.read(n1.store.imagePath(v1)).version()).isEqualTo(1);
        // the version-0 image is unreferenced now: GC takes it
        await().atMost(WAIT).untilAsserted(() -> assertThat(n1.store.images()).containsOnlyKeys(v1));
    }
}
