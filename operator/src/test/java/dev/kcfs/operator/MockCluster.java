package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ComposefsNodeStatus;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.SourceSpec;
import dev.kcfs.operator.registry.RegistryManifestResolver;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
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
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Test-side view of an API server: the CRDs, Nodes, node reports, images and a running operator. Made
 * for the fabric8 mock (which has no server-side apply, so the operator writes with JSON patches);
 * {@link #onApiServer} runs the operator as in production, against a real API server.
 */
public final class MockCluster implements AutoCloseable {
    /** The mock web server logs every request at INFO through java.util.logging; held so the level sticks. */
    private static final java.util.logging.Logger MOCK_LOG = quiet("io.fabric8.mockwebserver");

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(name);
        l.setLevel(java.util.logging.Level.WARNING);
        return l;
    }

    final KubernetesClient client;
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final OperatorMetrics metrics = new OperatorMetrics(registry);
    private final boolean serverSideApply;
    private Operator operator;

    public MockCluster(KubernetesClient client) {
        this(client, false);
    }

    private MockCluster(KubernetesClient client, boolean serverSideApply) {
        this.client = client;
        this.serverSideApply = serverSideApply;
    }

    /** A real API server (see {@link RealApiServer}): the operator writes with server-side apply. */
    public static MockCluster onApiServer(KubernetesClient client) {
        return new MockCluster(client, true);
    }

    /** Installs crds/*.yml, as an admin would; the CRUD mock learns scope and subresources from them. */
    public MockCluster installCrds() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("kcfs.crds.dir")))) {
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".yml")).collect(Collectors.toList())) {
                try (InputStream in = Files.newInputStream(f)) {
                    CustomResourceDefinition crd =
                            Serialization.unmarshal(in, CustomResourceDefinition.class);
                    if (client.apiextensions()
                                    .v1()
                                    .customResourceDefinitions()
                                    .withName(crd.getMetadata().getName())
                                    .get()
                            == null) {
                        client.apiextensions()
                                .v1()
                                .customResourceDefinitions()
                                .resource(crd)
                                .create();
                    }
                }
            }
        }
        return this;
    }

    public MockCluster start(ComposefsImageReconciler.Settings settings) {
        return start(settings, Optional.empty());
    }

    MockCluster start(
            ComposefsImageReconciler.Settings settings,
            Optional<io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration>
                    leaderElection) {
        var resolver =
                new RegistryManifestResolver(
                        Set.of(), Duration.ofSeconds(2), Duration.ofSeconds(5));
        var reconciler =
                new ComposefsImageReconciler(
                        resolver, settings, metrics, Clock.systemUTC(), new ObjectMapper());
        operator = KcfsOperator.create(client, reconciler, leaderElection, serverSideApply);
        operator.start();
        return this;
    }

    static ComposefsImageReconciler.Settings fastSettings() {
        return new ComposefsImageReconciler.Settings(
                Duration.ofMinutes(5),
                Duration.ofMillis(300),
                Duration.ofSeconds(2),
                Duration.ofSeconds(2),
                "default",
                Duration.ofMillis(500));
    }

    Operator operator() {
        return operator;
    }

    public void node(String name, Map<String, String> labels) {
        client.nodes()
                .resource(
                        new NodeBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withLabels(labels)
                                .endMetadata()
                                .build())
                .create();
    }

    /** Replaces the node's report, as its agent would. */
    void report(String node, NodeImage... images) {
        var res = client.resources(ComposefsNode.class).withName(node);
        if (res.get() == null) {
            ComposefsNode cn = new ComposefsNode();
            cn.setMetadata(new ObjectMetaBuilder().withName(node).build());
            client.resource(cn).create();
        }
        res.editStatus(
                cn -> {
                    ComposefsNodeStatus s = new ComposefsNodeStatus();
                    s.setImages(List.of(images));
                    s.setImageCount(images.length);
                    cn.setStatus(s);
                    return cn;
                });
    }

    static NodeImage built(String image, String digest) {
        NodeImage i = new NodeImage(image, ImageState.Ready);
        i.setDigest(digest);
        i.setFiles(3L);
        i.setObjects(2L);
        i.setBytes(4096L);
        return i;
    }

    static NodeImage state(String image, ImageState state, String message) {
        NodeImage i = new NodeImage(image, state);
        i.setMessage(message);
        return i;
    }

    ComposefsImage apply(
            String name, String image, Map<String, String> selector, String expectedDigest) {
        return client.resource(newImage(name, image, selector, expectedDigest)).create();
    }

    /** Edits the image's spec, retrying when the operator wrote in between (409), as kubectl would. */
    void editImage(String name, java.util.function.Consumer<ComposefsImage> change) {
        for (int attempt = 0; ; attempt++) {
            try {
                client.resources(ComposefsImage.class)
                        .withName(name)
                        .edit(
                                ci -> {
                                    change.accept(ci);
                                    return ci;
                                });
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 20) {
                    throw e;
                }
            }
        }
    }

    static ComposefsImage newImage(
            String name, String image, Map<String, String> selector, String expectedDigest) {
        ComposefsImage ci = new ComposefsImage();
        ci.setMetadata(new ObjectMetaBuilder().withName(name).build());
        ComposefsImageSpec spec = new ComposefsImageSpec();
        spec.setSource(new SourceSpec(image));
        spec.setNodeSelector(new LabelSelectorBuilder().withMatchLabels(selector).build());
        spec.setExpectedDigest(expectedDigest);
        ci.setSpec(spec);
        return ci;
    }

    public ComposefsImage get(String name) {
        return client.resources(ComposefsImage.class).withName(name).get();
    }

    public Condition condition(String image, String type) {
        ComposefsImage ci = get(image);
        assertThat(ci).as("image %s exists", image).isNotNull();
        assertThat(ci.getStatus()).as("image %s has a status", image).isNotNull();
        return Conditions.find(ci.getStatus().getConditions(), type);
    }

    public void assertCondition(String image, String type, String status, String reason) {
        Condition c = condition(image, type);
        assertThat(c).as("%s condition %s", image, type).isNotNull();
        assertThat(c.getStatus() + "/" + c.getReason())
                .as("%s %s: %s", image, type, c.getMessage())
                .isEqualTo(status + "/" + reason);
        assertThat(c.getObservedGeneration()).isEqualTo(get(image).getMetadata().getGeneration());
    }

    List<Event> events(String image, String reason) {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(
                        e ->
                                image.equals(e.getInvolvedObject().getName())
                                        && reason.equals(e.getReason()))
                .collect(Collectors.toList());
    }

    @Override
    public void close() {
        if (operator != null) {
            operator.stop();
            operator = null;
        }
    }
}
