package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ComposefsImageStatus;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ImageSource;
import dev.kcfs.api.NodeImage;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.operator.ComposefsImageReconciler;
import dev.kcfs.operator.KcfsOperator;
import dev.kcfs.operator.OperatorMetrics;
import dev.kcfs.operator.registry.RegistryManifestResolver;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The mock API server seen by a test: CRDs, Nodes, ComposefsImages, node reports and (optionally) the real operator. */
final class AgentCluster implements AutoCloseable {
    /** The mock web server logs every request at INFO through java.util.logging; held so the level sticks. */
    private static final java.util.logging.Logger MOCK_LOG = quiet("io.fabric8.mockwebserver");

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(name);
        l.setLevel(java.util.logging.Level.WARNING);
        return l;
    }

    final KubernetesClient client;
    private Operator operator;

    AgentCluster(KubernetesClient client) throws IOException {
        this.client = client;
        installCrds();
    }

    /** crds/*.yml, as an admin installs them; the CRUD mock learns scope and status subresources from them. */
    private void installCrds() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("kcfs.crds.dir")))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yml")).collect(Collectors.toList())) {
                try (InputStream in = Files.newInputStream(f)) {
                    CustomResourceDefinition crd = Serialization.unmarshal(in, CustomResourceDefinition.class);
                    if (client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName()).get() == null) {
                        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
                    }
                }
            }
        }
    }

    /** The real operator (pins tags, folds node reports, holds the finalizer) with fast retries. */
    AgentCluster startOperator() {
        var resolver = new RegistryManifestResolver(Set.of(), Duration.ofSeconds(2), Duration.ofSeconds(5));
        var settings = new ComposefsImageReconciler.Settings(Duration.ofMinutes(5), Duration.ofMillis(300),
                Duration.ofSeconds(2), Duration.ofSeconds(2), "default", Duration.ofMillis(300));
        var reconciler = new ComposefsImageReconciler(resolver, settings,
                new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)), Clock.systemUTC(),
                new ObjectMapper());
        operator = KcfsOperator.create(client, reconciler, Optional.empty());
        operator.start();
        return this;
    }

    void node(String name, Map<String, String> labels) {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .build()).create();
    }

    ComposefsImage apply(String name, String image, LabelSelector selector, Consumer<ComposefsImageSpec> more) {
        ComposefsImage ci = new ComposefsImage();
        ci.setMetadata(new ObjectMetaBuilder().withName(name).build());
        ComposefsImageSpec spec = new ComposefsImageSpec();
        spec.setSource(new ImageSource(image));
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
        return cn.getStatus().getImages().stream().filter(i -> image.equals(i.getName())).findFirst().orElse(null);
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
        ComposefsImage ci = image(image);
        assertThat(ci).as("ComposefsImage %s", image).isNotNull();
        assertThat(ci.getStatus()).as("status of %s", image).isNotNull();
        return ci.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    void assertCondition(String image, String type, String status, String reason) {
        Condition c = condition(image, type);
        assertThat(c).as("%s condition %s", image, type).isNotNull();
        assertThat(c.getStatus() + "/" + c.getReason()).as("%s %s: %s", image, type, c.getMessage())
                .isEqualTo(status + "/" + reason);
    }

    /** An image of two gzip layers (every entry type, whiteouts, xattrs) for this machine's platform. */
    static TestImage testImage() {
        return new TestImage(Platform.current().architecture(),
                List.of(TestImage.Layer.gzip(Fixtures.base()), TestImage.Layer.gzip(Fixtures.middle())));
    }

    static String push(TestRegistry registry, TestImage image, String repo, String tag) throws Exception {
        return image.push(registry.pusher(), repo, tag);
    }

    /** A test's teardown: closes the nodes it started (null for those it did not), then the cluster. */
    void closeWith(TestNode... nodes) throws Exception {
        for (TestNode n : nodes) {
            if (n != null) {
                n.close();
            }
        }
        close();
    }

    @Override
    public void close() {
        if (operator != null) {
            operator.stop();
        }
    }
}
