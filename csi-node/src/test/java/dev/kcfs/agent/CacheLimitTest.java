package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.publish.OnDemandBuilds;
import dev.kcfs.store.Store;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** --cache-max-bytes evicts the least recently used image. */
class CacheLimitTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final long LIMIT = 1 << 20;

    @RegisterExtension static TestRegistry registry = TestRegistry.anonymous();

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    TestNode n1;

    @BeforeEach
    void setUp() throws Exception {
        cluster = agents.cluster();
        cluster.node("n1", Map.of());
    }

    /** An image of one 600 KB file of its own: two of them do not fit in LIMIT, one does. */
    private void apply(String name, long seed) throws Exception {
        byte[] tar =
                new TarBuilder()
                        .entry("data/" + name)
                        .body(Fixtures.random(seed, 600_000))
                        .mode(0644)
                        .add()
                        .build();
        TestImage image =
                new TestImage(
                        Platform.current().architecture(), List.of(TestImage.Layer.gzip(tar)));
        String manifest = image.push(registry.pusher(), "kcfs/" + name, "v1");
        cluster.apply(name, registry.address() + "/kcfs/" + name + ":v1", null, spec -> {});
        cluster.pin(name, registry.address() + "/kcfs/" + name + "@" + manifest);
    }

    private NodeImage report(String image) {
        NodeImage r = cluster.report("n1", image);
        assertThat(r).as("n1's report of %s", image).isNotNull();
        return r;
    }

    private static long used(Store store) throws Exception {
        Store.Stats s = store.stats();
        return s.objectDiskBytes() + s.imageBytes();
    }

    @Test
    void leastRecentlyUsedImageIsEvictedAndBuiltAgainOnDemand() throws Exception {
        n1 = agents.node("n1", TestNode.fast("n1").withCacheMaxBytes(LIMIT)).startAgent();
        apply("first", 1);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(report("first").getState()).isEqualTo(ImageState.Ready));
        n1.clock.skip(
                Duration.ofSeconds(2)); // builtAt (the use time of images never mounted) apart
        apply("second", 2);

        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(report("second").getState()).isEqualTo(ImageState.Ready);
                            assertThat(report("first").getState()).isEqualTo(ImageState.Pending);
                            assertThat(report("first").getMessage())
                                    .contains("evicted")
                                    .contains("--cache-max-bytes " + LIMIT);
                            assertThat(n1.store.refs()).containsOnlyKeys("second");
                            assertThat(used(n1.store)).isLessThanOrEqualTo(LIMIT);
                        });
        // an evicted image is not rebuilt by itself (that would evict the other one, for ever)
        await().during(Duration.ofSeconds(1))
                .atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(report("first").getState()).isEqualTo(ImageState.Pending));

        // a pod asking for it brings it back; now "second" is the least recently used
        assertThat(n1.agent.policy(VerityMode.IF_SUPPORTED).builds().request("first").kind())
                .isEqualTo(OnDemandBuilds.BuildState.Kind.STARTED);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(report("first").getState()).isEqualTo(ImageState.Ready);
                            assertThat(report("second").getState()).isEqualTo(ImageState.Pending);
                            assertThat(n1.store.refs()).containsOnlyKeys("first");
                            assertThat(used(n1.store)).isLessThanOrEqualTo(LIMIT);
                        });
    }
}
