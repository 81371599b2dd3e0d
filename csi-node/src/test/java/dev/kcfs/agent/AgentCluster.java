package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ComposefsImageStatus;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.SourceSpec;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.operator.ComposefsImageReconciler;
import dev.kcfs.operator.MockCluster;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** The mock API server seen by a test: CRDs, Nodes, ComposefsImages, node reports and (optionally) the real operator. */
final class AgentCluster implements AutoCloseable {
    final KubernetesClient client;

    /** CRDs, Nodes, conditions and the operator's life, as the operator's own tests handle them. */
    private final MockCluster mock;

    AgentCluster(KubernetesClient client) throws IOException {
        this.client = client;
        this.mock = new MockCluster(client).installCrds();
    }

    /** The real operator (pins tags, folds node reports, holds the finalizer) with fast retries. */
    AgentCluster startOperator() {
        mock.start(
                new ComposefsImageReconciler.Settings(
                        Duration.ofMinutes(5),
                        Duration.ofMillis(300),
                        Duration.ofSeconds(2),
                        Duration.ofSeconds(2),
                        "default",
                        Duration.ofMillis(300)));
        return this;
    }

    void node(String name, Map<String, String> labels) {
        mock.node(name, labels);
    }

    ComposefsImage apply(
            String name, String image, LabelSelector selector, Consumer<ComposefsImageSpec> more) {
        ComposefsImage ci = new ComposefsImage();
        ci.setMetadata(new ObjectMetaBuilder().withName(name).build());
        ComposefsImageSpec spec = new ComposefsImageSpec();
        spec.setSource(new SourceSpec(image));
        spec.setNodeSelector(selector);
        more.accept(spec);
        ci.setSpec(spec);
        return client.resource(ci).create();
    }

    /** Sets status.resolvedImage as the operator would, for tests that run without it. */
    void pin(String name, String resolved) {
        for (int attempt = 0; ; attempt++) {
            try {
                ComposefsImage ci = image(name);
                if (ci.getStatus() == null) {
                    ci.setStatus(new ComposefsImageStatus());
                }
                ci.getStatus().setResolvedImage(resolved);
                client.resource(ci).updateStatus();
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 20) {
                    throw e;
                }
            }
        }
    }

    ComposefsImage image(String name) {
        return client.resources(ComposefsImage.class).withName(name).get();
    }

    void delete(String name) {
        client.resources(ComposefsImage.class).withName(name).delete();
    }

    /** This node's report of the image, or null. */
    NodeImage report(String node, String image) {
        ComposefsNode cn = client.resources(ComposefsNode.class).withName(node).get();
        if (cn == null || cn.getStatus() == null) {
            return null;
        }
        return cn.getStatus().getImages().stream()
                .filter(i -> image.equals(i.getName()))
                .findFirst()
                .orElse(null);
    }

    /** This node's report of the image; an assertion error (which awaitility retries) while there is none. */
    NodeImage reported(String node, String image) {
        NodeImage r = report(node, image);
        assertThat(r).as("%s's report of %s", node, image).isNotNull();
        return r;
    }

    ComposefsNode composefsNode(String node) {
        return client.resources(ComposefsNode.class).withName(node).get();
    }

    Condition condition(String image, String type) {
        return mock.condition(image, type);
    }

    void assertCondition(String image, String type, String status, String reason) {
        mock.assertCondition(image, type, status, reason);
    }

    /** An image of two gzip layers (every entry type, whiteouts, xattrs) for this machine's platform. */
    static TestImage testImage() {
        return new TestImage(
                Platform.current().architecture(),
                List.of(
                        TestImage.Layer.gzip(Fixtures.base()),
                        TestImage.Layer.gzip(Fixtures.middle())));
    }

    static String push(TestRegistry registry, TestImage image, String repo, String tag)
            throws Exception {
        return image.push(registry.pusher(), repo, tag);
    }

    @Override
    public void close() {
        mock.close();
    }
}
