package dev.kcfs.agent;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.mount.MountTable;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.store.Store;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole life of an image, with every part real except the API server (the fabric8 CRUD mock):
 * the operator pins it, the agents of three simulated nodes (separate stores, different labels)
 * build it where the selector says, the operator folds their reports, a pod mounts it through the
 * CSI plugin over gRPC, and deletion waits for the nodes to release it before GC frees it.
 */
@Tag("root")
class ImageLifecycleTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension static TestRegistry registry = TestRegistry.anonymous();

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    TestNode n1;
    TestNode n2;
    TestNode n3;

    @BeforeEach
    void setUp() throws Exception {
        Root.assumeRoot();
        cluster = agents.cluster().startOperator();
    }

    @Test
    void applyBuildReportMountDeleteRelease() throws Exception {
        TestImage image = AgentCluster.testImage();
        String manifest = AgentCluster.push(registry, image, "kcfs/tools", "v1");
        cluster.node("n1", Map.of("zone", "a", "gpu", "yes"));
        cluster.node("n2", Map.of("zone", "a"));
        cluster.node("n3", Map.of("zone", "b"));
        n1 = agents.node("n1").withCsi();
        n2 = agents.node("n2").startAgent();
        n3 = agents.node("n3").startAgent();

        // running agents announce themselves (the operator counts nodes that have a ComposefsNode)
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            for (String n : new String[] {"n1", "n2", "n3"}) {
                                assertThat(cluster.composefsNode(n))
                                        .as("ComposefsNode %s", n)
                                        .isNotNull();
                            }
                        });

        // zone in (a): a set-based selector, which the mock API server itself would ignore
        cluster.apply(
                "tools",
                registry.address() + "/kcfs/tools:v1",
                new LabelSelectorBuilder()
                        .addNewMatchExpression()
                        .withKey("zone")
                        .withOperator("In")
                        .withValues("a")
                        .endMatchExpression()
                        .build(),
                spec -> {});

        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("tools", "Resolved", "True", "Pinned");
                            cluster.assertCondition("tools", "Ready", "True", "AllNodesReady");
                        });
        ComposefsImage ready = cluster.image("tools");
        assertThat(ready.getStatus().getResolvedImage())
                .isEqualTo(registry.address() + "/kcfs/tools@" + manifest);
        assertThat(ready.getStatus().getNodes().getDesired()).isEqualTo(2);
        assertThat(ready.getStatus().getNodes().getReady()).isEqualTo(2);
        assertThat(ready.getStatus().getNodes().getFailed()).isZero();

        // each building node tells how it pulled, in an event on the image (a gzip layer: whole)
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(events("tools", "Built"))
                                        .extracting(Event::getReportingInstance)
                                        .containsExactlyInAnyOrder("n1", "n2"));
        assertThat(events("tools", "Built"))
                .allSatisfy(
                        ev -> {
                            assertThat(ev.getType()).isEqualTo("Normal");
                            assertThat(ev.getReportingComponent()).isEqualTo("kcfs-node");
                            assertThat(ev.getMessage())
                                    .startsWith(
                                            "node "
                                                    + ev.getReportingInstance()
                                                    + " built from "
                                                    + ready.getStatus().getResolvedImage())
                                    .contains("0 of 2 layers partially (zstd:chunked), 2 whole");
                        });
        assertThat(ready.getMetadata().getFinalizers()).isNotEmpty();

        // both selected nodes built the same composefs image into their own store; n3 built nothing
        Digest d1 = n1.store.ref("tools").orElseThrow();
        assertThat(n2.store.ref("tools")).contains(d1);
        assertThat(n3.store.refs()).isEmpty();
        assertThat(n3.store.stats().objects()).isZero();
        assertThat(ready.getStatus().getDigest()).isEqualTo(d1.hex());
        NodeImage r1 = cluster.report("n1", "tools");
        assertThat(r1.getState()).isEqualTo(ImageState.Ready);
        assertThat(r1.getDigest()).isEqualTo(d1.hex());
        assertThat(r1.getObjects())
                .isEqualTo((long) n1.store.objectList(d1).orElseThrow().digests().size());
        assertThat(r1.getBytes()).isEqualTo(n1.store.objectList(d1).orElseThrow().logicalBytes());
        assertThat(r1.getFiles()).isPositive();
        assertThat(ready.getStatus().getObjects()).isEqualTo(r1.getObjects());
        assertThat(ready.getStatus().getFiles()).isEqualTo(r1.getFiles());
        assertThat(cluster.report("n3", "tools")).isNull();
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(
                                                cluster.composefsNode("n1")
                                                        .getStatus()
                                                        .getStore()
                                                        .getObjects())
                                        .as("store stats reported")
                                        .isEqualTo(n1.store.stats().objects()));
        ComposefsNode cn1 = cluster.composefsNode("n1");
        assertThat(cn1.getStatus().getStore().getVeritySupported()).isNotNull();
        assertThat(cn1.getMetadata().getOwnerReferences())
                .singleElement()
                .satisfies(o -> assertThat(o.getKind() + "/" + o.getName()).isEqualTo("Node/n1"));

        // a pod on n1 mounts it through the CSI plugin
        Path target = n1.target("pod-1");
        n1.csi().nodePublishVolume(publish("vol-1", target, "tools").build());
        assertThat(Files.readString(target.resolve("etc/motd")))
                .isEqualTo("overridden by the middle layer\n");
        assertThat(Files.readAllBytes(target.resolve("bin/tool"))).isEqualTo(Fixtures.BIG);
        assertThat(Files.exists(target.resolve("etc/victim"))).isFalse();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            NodeImage r = cluster.report("n1", "tools");
                            assertThat(r.getMounts()).isEqualTo(1);
                            assertThat(r.getLastUsed()).isNotNull();
                        });

        // deleted while mounted: the finalizer holds the object while n1 still uses the image
        cluster.delete("tools");
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(cluster.report("n2", "tools")).as("n2 released it").isNull();
                            assertThat(n2.store.refs()).isEmpty();
                            assertThat(n2.store.images()).isEmpty();
                            assertThat(n2.store.stats().objects())
                                    .as("n2's GC freed the objects")
                                    .isZero();
                        });
        assertThat(cluster.image("tools"))
                .as("held by the finalizer while n1 has it mounted")
                .isNotNull();
        assertThat(cluster.image("tools").getMetadata().getDeletionTimestamp()).isNotNull();
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                assertThat(cluster.reported("n1", "tools").getMessage())
                                        .contains("kept while 1 volume(s) use it"));
        assertThat(n1.store.ref("tools")).contains(d1);
        assertThat(Files.readString(target.resolve("etc/motd")))
                .isEqualTo("overridden by the middle layer\n");

        // the pod goes: n1 drops it, the finalizer goes, GC frees the store
        n1.csi().nodeUnpublishVolume(unpublish("vol-1", target));
        assertThat(MountTable.read().isMountPoint(target)).isFalse();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            assertThat(cluster.image("tools"))
                                    .as("deleted once no node holds it")
                                    .isNull();
                            assertThat(cluster.report("n1", "tools")).isNull();
                            Store.Stats s = n1.store.stats();
                            assertThat(s.images()).isZero();
                            assertThat(s.objects()).isZero();
                            assertThat(n1.store.refs()).isEmpty();
                        });
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            ComposefsNode after = cluster.composefsNode("n1");
                            assertThat(after.getStatus().getImages()).isEmpty();
                            assertThat(after.getStatus().getLastGC()).isNotNull();
                            assertThat(after.getStatus().getStore().getObjects()).isZero();
                        });

        // nothing changes any more, so nothing is written any more: three more planning passes on
        // every node (each also runs any report queued before it) write nothing
        long writes = n1.agent.statusWrites() + n2.agent.statusWrites() + n3.agent.statusWrites();
        for (TestNode n : List.of(n1, n2, n3)) {
            long passes = n.agent.planningPasses();
            await().atMost(WAIT).until(() -> n.agent.planningPasses() >= passes + 3);
        }
        assertThat(n1.agent.statusWrites() + n2.agent.statusWrites() + n3.agent.statusWrites())
                .isEqualTo(writes);
    }

    private List<Event> events(String imageName, String reason) {
        return cluster.client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(
                        ev ->
                                imageName.equals(ev.getInvolvedObject().getName())
                                        && reason.equals(ev.getReason()))
                .toList();
    }
}
