package dev.kcfs.operator;

import static dev.kcfs.operator.MockCluster.built;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.SecretRef;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The operator with exactly the RBAC the chart gives it, on a real API server: every call it makes
 * (Lease, informers, server-side apply of finalizer and status, events, pull secrets, finalizer
 * removal) is authorized as its service account. The chart is rendered with the {@code helm} that
 * e2e/cluster/build.sh puts beside the Kubernetes binaries.
 */
class ChartRbacTest {
    private static final String NAMESPACE = "kcfs-system";
    private static final String SERVICE_ACCOUNT =
            "system:serviceaccount:" + NAMESPACE + ":kcfs-operator";
    private static final String D1 = "1".repeat(64);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension static final RealApiServer API = new RealApiServer();

    /** The chart's operator and pull-secret RBAC, as {@code helm install kcfs -n kcfs-system} creates it. */
    private static List<HasMetadata> renderRbac() throws Exception {
        Path helm = API.binaries().resolve("helm");
        Assumptions.assumeTrue(
                Files.isExecutable(helm), "no helm in " + API.binaries() + " to render the chart");
        Process p =
                new ProcessBuilder(
                                helm.toString(),
                                "template",
                                "kcfs",
                                System.getProperty("kcfs.chart.dir"),
                                "--namespace",
                                NAMESPACE,
                                "--show-only",
                                "templates/operator-rbac.yaml",
                                "--show-only",
                                "templates/pull-secrets-rbac.yaml")
                        .redirectErrorStream(true)
                        .start();
        byte[] yaml = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(yaml, StandardCharsets.UTF_8)).isZero();
        return API.client().load(new ByteArrayInputStream(yaml)).items();
    }

    private static void pullSecret(String namespace, String registry) {
        String auth =
                Base64.getEncoder().encodeToString("kcfs:s3cret".getBytes(StandardCharsets.UTF_8));
        String config = "{\"auths\":{\"" + registry + "\":{\"auth\":\"" + auth + "\"}}}";
        API.client()
                .secrets()
                .inNamespace(namespace)
                .resource(
                        new SecretBuilder()
                                .withNewMetadata()
                                .withName("regcred")
                                .withNamespace(namespace)
                                .endMetadata()
                                .withType("kubernetes.io/dockerconfigjson")
                                .withData(
                                        Map.of(
                                                ".dockerconfigjson",
                                                Base64.getEncoder()
                                                        .encodeToString(
                                                                config.getBytes(
                                                                        StandardCharsets.UTF_8))))
                                .build())
                .create();
    }

    @Test
    void operatorRunsWithTheChartsRbac() throws Exception {
        KubernetesClient admin = API.client();
        admin.resourceList(renderRbac()).serverSideApply();
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String registry = "127.0.0.1:" + closed;
        pullSecret(NAMESPACE, registry);
        pullSecret("ci", registry);

        try (KubernetesClient operatorClient = API.clientAs(SERVICE_ACCOUNT);
                MockCluster cluster = MockCluster.onApiServer(operatorClient);
                MockCluster asAdmin = MockCluster.onApiServer(admin)) {
            assertThatThrownBy(
                            () ->
                                    operatorClient
                                            .secrets()
                                            .inNamespace("ci")
                                            .withName("regcred")
                                            .get())
                    .as("the impersonated client is not an admin")
                    .isInstanceOfSatisfying(
                            KubernetesClientException.class,
                            e -> assertThat(e.getCode()).isEqualTo(403));
            cluster.start(
                    MockCluster.fastSettings(),
                    Optional.of(
                            new LeaderElectionConfiguration(
                                    "kcfs-operator",
                                    NAMESPACE,
                                    Duration.ofSeconds(4),
                                    Duration.ofSeconds(3),
                                    Duration.ofMillis(500),
                                    "replica-a",
                                    null,
                                    false)));
            asAdmin.node("n1", Map.of("zone", "a"));
            asAdmin.report("n1", built("tools", D1));

            asAdmin.apply(
                    "tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
            ComposefsImage allowed =
                    MockCluster.newImage(
                            "allowed", registry + "/kcfs/tools:v1", Map.of("zone", "a"), null);
            allowed.getSpec()
                    .getSource()
                    .setPullSecrets(List.of(new SecretRef(NAMESPACE, "regcred")));
            admin.resource(allowed).create();
            ComposefsImage denied =
                    MockCluster.newImage(
                            "denied", registry + "/kcfs/tools:v1", Map.of("zone", "a"), null);
            denied.getSpec().getSource().setPullSecrets(List.of(new SecretRef("ci", "regcred")));
            admin.resource(denied).create();

            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                Lease lease =
                                        admin.leases()
                                                .inNamespace(NAMESPACE)
                                                .withName("kcfs-operator")
                                                .get();
                                assertThat(lease).isNotNull();
                                assertThat(lease.getSpec().getHolderIdentity())
                                        .isEqualTo("replica-a");
                                asAdmin.assertCondition("tools", "Ready", "True", "AllNodesReady");
                                // read the secret, then failed at the registry
                                asAdmin.assertCondition(
                                        "allowed", "Resolved", "False", "RegistryUnreachable");
                                asAdmin.assertCondition(
                                        "denied", "Resolved", "False", "PullSecretUnreadable");
                            });
            assertThat(asAdmin.condition("denied", "Resolved").getMessage())
                    .contains("HTTP 403")
                    .contains("ci");
            assertThat(asAdmin.events("tools", "Ready")).hasSize(1);
            assertThat(asAdmin.get("tools").getMetadata().getFinalizers()).hasSize(1);

            admin.resources(ComposefsImage.class).withName("tools").delete();
            await().atMost(WAIT)
                    .untilAsserted(
                            () ->
                                    assertThat(asAdmin.events("tools", "WaitingForNodes"))
                                            .hasSize(1));
            asAdmin.report("n1");
            await().atMost(WAIT).until(() -> asAdmin.get("tools") == null);
        }
    }
}
