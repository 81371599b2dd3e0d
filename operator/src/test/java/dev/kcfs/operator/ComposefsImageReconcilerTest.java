package dev.kcfs.operator;

import static dev.kcfs.operator.MockCluster.built;
import static dev.kcfs.operator.MockCluster.state;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.SecretRef;
import dev.kcfs.api.Verity;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.oci.tar.TarBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The operator against a real kube-apiserver + etcd ({@link RealApiServer}; skipped without the
 * binaries): status and conditions, events, finalizer, and what only a real server does (CRD
 * defaults, schema validation, the status subresource, server-side apply field ownership), with a
 * real docker-registry where a registry is needed. Node agents are simulated by writing
 * ComposefsNode reports. These tests ran on the fabric8 mock before; it was no faster per test, and
 * it has neither schema nor server-side apply.
 */
class ComposefsImageReconcilerTest {
    @RegisterExtension static final RealApiServer API = new RealApiServer();

    static final Duration WAIT = Duration.ofSeconds(30);
    static final String D1 = "1111111111111111111111111111111111111111111111111111111111111111";
    static final String D2 = "2222222222222222222222222222222222222222222222222222222222222222";

    KubernetesClient client;
    MockCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = MockCluster.onApiServer(API.client());
        client = API.client();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    /** Pushes a one-layer image; {@code salt} makes its manifest digest differ from other pushes. */
    private static String push(TestRegistry registry, String repository, String tag, String salt)
            throws Exception {
        return new TestImage(
                        "amd64",
                        List.of(TestImage.Layer.plain(new TarBuilder().file("salt", salt).build())))
                .push(registry.pusher(), repository, tag);
    }

    /** Three nodes; the image selects the two in zone a. */
    private void threeNodes() {
        cluster.node("n1", Map.of("zone", "a"));
        cluster.node("n2", Map.of("zone", "a"));
        cluster.node("n3", Map.of("zone", "b"));
        cluster.report("n1");
        cluster.report("n2");
        cluster.report("n3");
    }

    @Test
    void appliedImageIsPinnedThenReadyWithNodeCounts() throws Exception {
        try (TestRegistry registry = TestRegistry.anonymous().startOrSkip()) {
            String manifest = push(registry, "kcfs/tools", "v1", "one");
            threeNodes();
            cluster.start(MockCluster.fastSettings());
            cluster.apply(
                    "tools", registry.address() + "/kcfs/tools:v1", Map.of("zone", "a"), null);

            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                cluster.assertCondition("tools", "Resolved", "True", "Pinned");
                                assertThat(cluster.get("tools").getStatus().getResolvedImage())
                                        .isEqualTo(registry.address() + "/kcfs/tools@" + manifest);
                                cluster.assertCondition("tools", "Ready", "False", "Building");
                                assertThat(cluster.get("tools").getStatus().getNodes().getDesired())
                                        .isEqualTo(2);
                            });
            assertThat(cluster.get("tools").getMetadata().getFinalizers()).isNotEmpty();
            assertThat(cluster.events("tools", "Resolved")).hasSize(1);

            cluster.report("n1", built("tools", D1));
            cluster.report("n2", state("tools", ImageState.Building, null));
            cluster.report(
                    "n3", built("tools", D1)); // built on demand outside the selector: not counted
            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                var s = cluster.get("tools").getStatus();
                                assertThat(s.getReady()).isEqualTo("1/2");
                                cluster.assertCondition("tools", "Ready", "False", "Building");
                            });

            cluster.report("n2", built("tools", D1));
            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                var s = cluster.get("tools").getStatus();
                                cluster.assertCondition("tools", "Ready", "True", "AllNodesReady");
                                cluster.assertCondition("tools", "Degraded", "False", "AsExpected");
                                assertThat(s.getNodes().getDesired()).isEqualTo(2);
                                assertThat(s.getNodes().getReady()).isEqualTo(2);
                                assertThat(s.getNodes().getFailed()).isZero();
                                assertThat(s.getReady()).isEqualTo("2/2");
                                assertThat(s.getDigest()).isEqualTo(D1);
                                assertThat(s.getShortDigest()).isEqualTo(D1.substring(0, 12));
                                assertThat(s.getFiles()).isEqualTo(3L);
                                assertThat(s.getObjects()).isEqualTo(2L);
                                assertThat(s.getBytes()).isEqualTo(4096L);
                                assertThat(s.getObservedGeneration())
                                        .isEqualTo(
                                                cluster.get("tools").getMetadata().getGeneration());
                            });
            assertThat(cluster.events("tools", "Ready")).hasSize(1);

            // A label change moves n3 into the selection: desired grows without any report
            // changing.
            client.nodes()
                    .withName("n3")
                    .edit(
                            n -> {
                                n.getMetadata().getLabels().put("zone", "a");
                                return n;
                            });
            await().atMost(WAIT)
                    .untilAsserted(
                            () ->
                                    assertThat(cluster.get("tools").getStatus().getReady())
                                            .isEqualTo("3/3"));

            String scrape = cluster.registry.scrape();
            assertThat(scrape).contains("kcfs_images{state=\"Ready\"} 1.0");
            assertThat(scrape).contains("kcfs_image_nodes{image=\"tools\",state=\"ready\"} 3.0");
        }
    }

    @Test
    void nodesDisagreeingOnTheDigestDegradeTheImage() {
        threeNodes();
        cluster.start(MockCluster.fastSettings());
        String pinned = "example.org/kcfs/tools@sha256:" + D1;
        cluster.apply("tools", pinned, Map.of("zone", "a"), null);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> cluster.assertCondition("tools", "Resolved", "True", "Pinned"));
        cluster.report("n1", built("tools", D1));
        cluster.report("n2", built("tools", D2));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition(
                                    "tools", "Degraded", "True", "DigestDisagreement");
                            cluster.assertCondition("tools", "Ready", "False", "Degraded");
                            var s = cluster.get("tools").getStatus();
                            assertThat(s.getDigest()).as("no agreed digest").isNull();
                            assertThat(s.getNodes().getReady() + s.getNodes().getFailed())
                                    .isEqualTo(2);
                            assertThat(cluster.condition("tools", "Degraded").getMessage())
                                    .contains(D1)
                                    .contains(D2)
                                    .contains("n1")
                                    .contains("n2");
                        });
        assertThat(cluster.events("tools", "DigestDisagreement")).hasSize(1);
        assertThat(cluster.get("tools").getStatus().getResolvedImage()).isEqualTo(pinned);

        // n2 rebuilds and agrees: the image recovers.
        cluster.report("n2", built("tools", D1));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("tools", "Degraded", "False", "AsExpected");
                            cluster.assertCondition("tools", "Ready", "True", "AllNodesReady");
                        });
        assertThat(cluster.events("tools", "Recovered")).hasSize(1);
    }

    @Test
    void digestOtherThanExpectedDegradesTheImage() {
        threeNodes();
        cluster.start(MockCluster.fastSettings());
        cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), D2);
        cluster.report("n1", built("tools", D1));
        cluster.report("n2", built("tools", D1));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("tools", "Degraded", "True", "DigestMismatch");
                            cluster.assertCondition("tools", "Ready", "False", "Degraded");
                            var s = cluster.get("tools").getStatus();
                            assertThat(s.getDigest()).as("what the nodes agree on").isEqualTo(D1);
                            assertThat(s.getNodes().getReady()).isZero();
                            assertThat(s.getNodes().getFailed()).isEqualTo(2);
                            assertThat(cluster.condition("tools", "Degraded").getMessage())
                                    .contains("spec.expectedDigest is " + D2);
                        });
        assertThat(cluster.events("tools", "DigestMismatch")).hasSize(1);
    }

    @Test
    void failedBuildDegradesWithTheNodeMessage() {
        threeNodes();
        cluster.start(MockCluster.fastSettings());
        cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        cluster.report("n1", built("tools", D1));
        cluster.report("n2", state("tools", ImageState.Failed, "layer 2: disk full"));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("tools", "Degraded", "True", "BuildFailed");
                            assertThat(cluster.condition("tools", "Degraded").getMessage())
                                    .contains("n2: layer 2: disk full");
                            assertThat(cluster.get("tools").getStatus().getNodes().getFailed())
                                    .isEqualTo(1);
                        });
    }

    @Test
    void unreachableRegistryGivesConditionAndEventAndRetries() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        cluster.start(MockCluster.fastSettings());
        cluster.apply(
                "tools", "127.0.0.1:" + closedPort + "/kcfs/tools:v1", Map.of("zone", "a"), null);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition(
                                    "tools", "Resolved", "False", "RegistryUnreachable");
                            assertThat(cluster.condition("tools", "Resolved").getMessage())
                                    .contains("127.0.0.1:" + closedPort)
                                    .contains("unreachable");
                            cluster.assertCondition("tools", "Ready", "False", "Unresolved");
                        });
        // Retried (fastSettings: every 2 s), yet only one event for the one state change.
        await().atMost(WAIT)
                .until(
                        () ->
                                cluster.registry
                                                .find("kcfs_operator_resolve_duration_seconds")
                                                .tag("result", "failed")
                                                .timer()
                                                .count()
                                        >= 3);
        assertThat(cluster.events("tools", "RegistryUnreachable")).hasSize(1);
    }

    @Test
    void missingPullSecretGivesConditionAndEvent() throws Exception {
        cluster.start(MockCluster.fastSettings());
        ComposefsImage ci =
                MockCluster.newImage(
                        "tools", "127.0.0.1:1/kcfs/tools:v1", Map.of("zone", "a"), null);
        ci.getSpec().getSource().setPullSecrets(List.of(new SecretRef("ci", "regcred")));
        client.resource(ci).create();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition(
                                    "tools", "Resolved", "False", "PullSecretNotFound");
                            assertThat(cluster.condition("tools", "Resolved").getMessage())
                                    .contains("ci/regcred")
                                    .contains("does not exist");
                        });
        assertThat(cluster.events("tools", "PullSecretNotFound")).hasSize(1);
    }

    @Test
    void pullSecretLoginIsUsedForBasicAuth() throws Exception {
        try (TestRegistry registry = TestRegistry.basicAuth("kcfs", "s3cret").startOrSkip()) {
            String manifest = push(registry, "private/tools", "v1", "auth");
            cluster.start(MockCluster.fastSettings());
            cluster.apply(
                    "noauth", registry.address() + "/private/tools:v1", Map.of("zone", "a"), null);
            await().atMost(WAIT)
                    .untilAsserted(
                            () ->
                                    cluster.assertCondition(
                                            "noauth", "Resolved", "False", "Unauthorized"));
            assertThat(cluster.events("noauth", "Unauthorized")).hasSize(1);

            String auth =
                    Base64.getEncoder()
                            .encodeToString("kcfs:s3cret".getBytes(StandardCharsets.UTF_8));
            String dockerConfig =
                    "{\"auths\":{\"" + registry.address() + "\":{\"auth\":\"" + auth + "\"}}}";
            client.secrets()
                    .inNamespace("ci")
                    .resource(
                            new SecretBuilder()
                                    .withNewMetadata()
                                    .withName("regcred")
                                    .withNamespace("ci")
                                    .endMetadata()
                                    .withType("kubernetes.io/dockerconfigjson")
                                    .withData(
                                            Map.of(
                                                    ".dockerconfigjson",
                                                    Base64.getEncoder()
                                                            .encodeToString(
                                                                    dockerConfig.getBytes(
                                                                            StandardCharsets
                                                                                    .UTF_8))))
                                    .build())
                    .create();
            ComposefsImage withSecret =
                    MockCluster.newImage(
                            "auth",
                            registry.address() + "/private/tools:v1",
                            Map.of("zone", "a"),
                            null);
            withSecret
                    .getSpec()
                    .getSource()
                    .setPullSecrets(List.of(new SecretRef("ci", "regcred")));
            client.resource(withSecret).create();
            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                cluster.assertCondition("auth", "Resolved", "True", "Pinned");
                                assertThat(cluster.get("auth").getStatus().getResolvedImage())
                                        .isEqualTo(
                                                registry.address() + "/private/tools@" + manifest);
                            });
        }
    }

    @Test
    void deletionWaitsForNodesToRelease() {
        threeNodes();
        cluster.start(MockCluster.fastSettings());
        cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        cluster.report("n1", built("tools", D1));
        cluster.report("n2", built("tools", D1));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> cluster.assertCondition("tools", "Ready", "True", "AllNodesReady"));

        client.resources(ComposefsImage.class).withName("tools").delete();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(cluster.events("tools", "WaitingForNodes")).hasSize(1));
        assertThat(cluster.get("tools")).as("held by the finalizer").isNotNull();
        assertThat(cluster.get("tools").getMetadata().getDeletionTimestamp()).isNotNull();

        cluster.report("n1");
        await().during(Duration.ofSeconds(1))
                .atMost(WAIT)
                .until(() -> cluster.get("tools") != null);
        assertThat(cluster.events("tools", "WaitingForNodes").get(0).getMessage())
                .contains("n1")
                .contains("n2");
        cluster.report("n2");
        await().atMost(WAIT).until(() -> cluster.get("tools") == null);
        assertThat(cluster.events("tools", "ReleaseTimedOut")).isEmpty();
    }

    @Test
    void deletionStopsWaitingAfterTheReleaseTimeout() {
        threeNodes();
        var settings =
                new ComposefsImageReconciler.Settings(
                        Duration.ofSeconds(4),
                        Duration.ofMillis(300),
                        Duration.ofSeconds(2),
                        Duration.ofSeconds(2),
                        "default",
                        Duration.ofMillis(500));
        cluster.start(settings);
        cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        cluster.report("n1", built("tools", D1));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> cluster.assertCondition("tools", "Resolved", "True", "Pinned"));
        client.resources(ComposefsImage.class).withName("tools").delete();
        // n1 never releases: the finalizer holds the object (deletionTimestamp has 1 s resolution,
        // so
        // the 4 s timeout leaves at least 3 s), then gives up.
        await().during(Duration.ofSeconds(2))
                .atMost(WAIT)
                .until(() -> cluster.get("tools") != null);
        assertThat(cluster.events("tools", "WaitingForNodes")).hasSize(1);
        await().atMost(WAIT).until(() -> cluster.get("tools") == null);
        assertThat(cluster.events("tools", "ReleaseTimedOut")).hasSize(1);
        assertThat(cluster.events("tools", "ReleaseTimedOut").get(0).getMessage()).contains("n1");
    }

    @Test
    void serverAppliesTheCrdDefaults() {
        ComposefsImage created =
                cluster.apply(
                        "tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        assertThat(created.getSpec().getVerity())
                .as("spec.verity defaulted by the API server")
                .isEqualTo(Verity.IfSupported);
        assertThat(cluster.get("tools").getSpec().getVerity()).isEqualTo(Verity.IfSupported);
    }

    @Test
    void schemaRefusesInvalidSpecs() {
        assertRefused(Map.of("source", Map.of("image", "Not An Image!")), "spec.source.image");
        assertRefused(
                Map.of("source", Map.of("image", "example.org/a/b:v1"), "expectedDigest", "xyz"),
                "spec.expectedDigest");
        assertRefused(
                Map.of("source", Map.of("image", "example.org/a/b:v1"), "formatVersion", 2),
                "spec.formatVersion");
        assertRefused(
                Map.of("source", Map.of("image", "example.org/a/b:v1"), "verity", "Sometimes"),
                "spec.verity");
        assertRefused(
                Map.of(
                        "source",
                        Map.of(
                                "image",
                                "example.org/a/b:v1",
                                "pullSecrets",
                                List.of(Map.of("namespace", "Bad_NS", "name", "regcred")))),
                "spec.source.pullSecrets[0].namespace");
        assertRefused(Map.of("nodeSelector", Map.of()), "spec.source");
        assertThat(client.resources(ComposefsImage.class).list().getItems())
                .as("nothing stored")
                .isEmpty();
    }

    private void assertRefused(Map<String, Object> spec, String field) {
        GenericKubernetesResource r = new GenericKubernetesResource();
        r.setApiVersion(ComposefsImage.GROUP + "/" + ComposefsImage.VERSION);
        r.setKind("ComposefsImage");
        r.setMetadata(new ObjectMetaBuilder().withName("bad").build());
        r.setAdditionalProperty("spec", spec);
        assertThatThrownBy(() -> client.resource(r).create())
                .as("spec %s", spec)
                .isInstanceOfSatisfying(
                        KubernetesClientException.class,
                        e -> {
                            assertThat(e.getCode()).isEqualTo(422);
                            assertThat(e.getMessage()).contains(field);
                        });
    }

    @Test
    void statusIsOnlyWrittenThroughItsSubresource() {
        cluster.node("n1", Map.of("zone", "a"));
        cluster.report("n1");
        cluster.start(MockCluster.fastSettings());
        cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> cluster.assertCondition("tools", "Resolved", "True", "Pinned"));
        long generation = cluster.get("tools").getMetadata().getGeneration();
        assertThat(generation)
                .as("status writes and the finalizer do not bump the generation")
                .isEqualTo(1);

        // A spec edit that also carries a status: the server keeps the status, bumps the
        // generation,
        // and the operator observes the new generation.
        cluster.editImage(
                "tools",
                ci -> {
                    ci.getSpec().setAllowedNamespaces(List.of("team-a"));
                    ci.getStatus().setResolvedImage("evil.example/x@sha256:" + D2);
                });
        assertThat(cluster.get("tools").getMetadata().getGeneration()).isEqualTo(2);
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("tools", "Resolved", "True", "Pinned");
                            assertThat(cluster.get("tools").getStatus().getObservedGeneration())
                                    .isEqualTo(2);
                        });
        assertThat(cluster.get("tools").getStatus().getResolvedImage())
                .isEqualTo("example.org/kcfs/tools@sha256:" + D1);
    }

    /**
     * With server-side apply the operator's field manager owns the status and its finalizer only; the
     * user's spec (here a list the operator never writes) stays the user's.
     */
    @Test
    void operatorOwnsItsFinalizerAndStatusOnly() {
        cluster.node("n1", Map.of("zone", "a"));
        cluster.report("n1");
        cluster.start(MockCluster.fastSettings());
        ComposefsImage ci =
                MockCluster.newImage(
                        "tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        ci.getSpec().setAllowedNamespaces(List.of("team-a", "team-b"));
        client.resource(ci).create();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> cluster.assertCondition("tools", "Ready", "False", "Building"));

        ComposefsImage stored = cluster.get("tools");
        assertThat(stored.getSpec().getAllowedNamespaces()).containsExactly("team-a", "team-b");
        assertThat(stored.getMetadata().getFinalizers()).hasSize(1);
        Map<String, String> owners =
                stored.getMetadata().getManagedFields().stream()
                        .filter(m -> "Apply".equals(m.getOperation()))
                        .collect(
                                Collectors.toMap(
                                        m ->
                                                m.getManager()
                                                        + "/"
                                                        + (m.getSubresource() == null
                                                                ? ""
                                                                : m.getSubresource()),
                                        m -> Serialization.asJson(m.getFieldsV1()),
                                        (a, b) -> a + b));
        String manager = ComposefsImageReconciler.NAME;
        assertThat(owners)
                .as(
                        "server-side apply managers: %s",
                        describe(stored.getMetadata().getManagedFields()))
                .containsOnlyKeys(manager + "/", manager + "/status");
        assertThat(owners.get(manager + "/")).contains("f:finalizers").doesNotContain("f:spec");
        assertThat(owners.get(manager + "/status"))
                .contains("f:conditions")
                .doesNotContain("f:spec");
    }

    private static String describe(List<ManagedFieldsEntry> entries) {
        return entries.stream()
                .map(m -> m.getManager() + " " + m.getOperation() + " " + m.getSubresource())
                .collect(Collectors.joining(", "));
    }

    /**
     * Why the operator refuses --event-namespace other than "default": the API server refuses an event
     * about a cluster-scoped object anywhere else (the mock took it), so every event would be lost.
     */
    @Test
    void eventsAboutImagesAreAcceptedOnlyInTheDefaultNamespace() {
        var settings = MockCluster.fastSettings();
        cluster.start(
                new ComposefsImageReconciler.Settings(
                        settings.releaseTimeout(),
                        settings.releasePoll(),
                        settings.resolveRetry(),
                        settings.secretRetry(),
                        "kcfs-system",
                        settings.countsInterval()));
        cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        await().atMost(WAIT)
                .untilAsserted(
                        () ->
                                cluster.assertCondition(
                                        "tools", "Ready", "False", "NoNodesSelected"));
        assertThat(client.v1().events().inNamespace("kcfs-system").list().getItems()).isEmpty();
        assertThat(cluster.metrics.count("kcfs_operator_events_total"))
                .as("events written")
                .isZero();
        cluster.close();

        cluster.start(settings);
        cluster.apply("other", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(cluster.events("other", "Resolved")).hasSize(1));
    }

    /**
     * An operator that wrote the status with JSON patches (before server-side apply) left its fields
     * owned by an Update manager; the applying operator that follows must still be able to drop them.
     */
    @Test
    void statusFieldsWrittenBeforeServerSideApplyCanStillBeDropped() {
        threeNodes();
        try (MockCluster before = new MockCluster(client)) {
            before.start(MockCluster.fastSettings());
            before.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
            before.report("n1", built("tools", D1));
            before.report("n2", built("tools", D1));
            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                before.assertCondition("tools", "Ready", "True", "AllNodesReady");
                                assertThat(before.get("tools").getStatus().getDigest())
                                        .isEqualTo(D1);
                            });
        }
        cluster.start(MockCluster.fastSettings());
        cluster.report("n2", built("tools", D2));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition(
                                    "tools", "Degraded", "True", "DigestDisagreement");
                            var s = cluster.get("tools").getStatus();
                            assertThat(s.getDigest()).as("no agreed digest").isNull();
                            assertThat(s.getShortDigest()).isNull();
                        });
        assertThat(cluster.get("tools").getMetadata().getManagedFields())
                .as("status fields owned by Update managers")
                .noneMatch(
                        m ->
                                "status".equals(m.getSubresource())
                                        && "Update".equals(m.getOperation()));
    }

    /**
     * What the schema cannot say (a selector operator, values per operator) the operator's own check
     * reports: a condition and one event, no retry loop, and recovery when the spec is fixed.
     */
    @Test
    void specTheSchemaLetsThroughGivesConditionAndEventWithoutRetrying() throws Exception {
        cluster.start(MockCluster.fastSettings());
        ComposefsImage ci =
                MockCluster.newImage(
                        "bad", "example.org/a/b@sha256:" + D1, Map.of("zone", "a"), null);
        ci.getSpec()
                .getNodeSelector()
                .setMatchExpressions(
                        List.of(
                                new LabelSelectorRequirementBuilder()
                                        .withKey("zone")
                                        .withOperator("Near")
                                        .withValues("a")
                                        .build(),
                                new LabelSelectorRequirementBuilder()
                                        .withKey("pool")
                                        .withOperator("In")
                                        .build()));
        client.resource(ci).create();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> {
                            cluster.assertCondition("bad", "Resolved", "False", "InvalidSpec");
                            cluster.assertCondition("bad", "Ready", "False", "InvalidSpec");
                            assertThat(cluster.condition("bad", "Resolved").getMessage())
                                    .contains(
                                            "spec.nodeSelector.matchExpressions[0].operator 'Near'")
                                    .contains(
                                            "spec.nodeSelector.matchExpressions[1]: operator In needs values");
                        });
        assertThat(cluster.events("bad", "InvalidSpec")).hasSize(1);
        double reconciles = cluster.metrics.count("kcfs_operator_reconciles_total");
        Thread.sleep(3000); // longer than every retry interval in fastSettings
        assertThat(cluster.metrics.count("kcfs_operator_reconciles_total"))
                .as("no retry loop on a bad spec")
                .isEqualTo(reconciles);

        cluster.editImage("bad", x -> x.getSpec().getNodeSelector().setMatchExpressions(List.of()));
        await().atMost(WAIT)
                .untilAsserted(() -> cluster.assertCondition("bad", "Resolved", "True", "Pinned"));
    }
}
