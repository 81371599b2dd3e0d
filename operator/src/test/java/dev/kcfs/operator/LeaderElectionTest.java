package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.http.MetricsServer;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Leader election on a real API server ({@link RealApiServer}): the Lease is taken and renewed, a
 * standby replica waits, and takes over when the leader stops. JOSDK checks its Lease rights with a
 * SelfSubjectRulesReview before it campaigns, which the real server answers (the mock needed a stub).
 */
class LeaderElectionTest {
    private static final String PINNED = "example.org/kcfs/tools@sha256:" + "c".repeat(64);
    private static final String NAMESPACE = "kcfs-system";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension static final RealApiServer API = new RealApiServer();

    /**
     * Short Lease timings so a handover takes seconds. exitOnStopLeading=false: production exits (and
     * restarts) when it loses the Lease, which here would end the test JVM.
     */
    private static Optional<LeaderElectionConfiguration> election(String identity) {
        return Optional.of(
                new LeaderElectionConfiguration(
                        "kcfs-operator",
                        NAMESPACE,
                        Duration.ofSeconds(4),
                        Duration.ofSeconds(3),
                        Duration.ofMillis(500),
                        identity,
                        null,
                        false));
    }

    private Lease lease() {
        return API.client().leases().inNamespace(NAMESPACE).withName("kcfs-operator").get();
    }

    @Test
    void leaderTakesAndRenewsTheLeaseThenReconcilesAndServesMetrics() throws Exception {
        KubernetesClient client = API.client();
        try (MockCluster cluster = MockCluster.onApiServer(client)) {
            cluster.start(MockCluster.fastSettings(), election("replica-a"));
            cluster.apply("tools", PINNED, Map.of("zone", "a"), null);
            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                Lease lease = lease();
                                assertThat(lease).isNotNull();
                                assertThat(lease.getSpec().getHolderIdentity())
                                        .isEqualTo("replica-a");
                                cluster.assertCondition("tools", "Resolved", "True", "Pinned");
                            });
            ZonedDateTime renewed = lease().getSpec().getRenewTime();
            await().atMost(WAIT)
                    .untilAsserted(
                            () -> {
                                Lease lease = lease();
                                assertThat(lease.getSpec().getRenewTime())
                                        .as("renewed")
                                        .isAfter(renewed);
                                assertThat(lease.getSpec().getHolderIdentity())
                                        .isEqualTo("replica-a");
                            });

            try (MetricsServer server =
                    MetricsServer.start(
                            new InetSocketAddress("127.0.0.1", 0),
                            cluster.registry::scrape,
                            () -> OperatorMain.health(cluster.operator()))) {
                HttpClient http = HttpClient.newHttpClient();
                HttpResponse<String> metrics =
                        http.send(
                                HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://127.0.0.1:"
                                                                + server.port()
                                                                + "/metrics"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(metrics.statusCode()).isEqualTo(200);
                assertThat(metrics.body())
                        .contains("kcfs_operator_reconciles_total{outcome=\"ok\"}")
                        .contains("kcfs_images{state=\"Progressing\"} 1.0")
                        .contains("kcfs_operator_status_writes_total")
                        .contains("jvm_memory_used_bytes");
                HttpResponse<String> health =
                        http.send(
                                HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://127.0.0.1:"
                                                                + server.port()
                                                                + "/healthz"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(health.statusCode()).isEqualTo(200);
            }
        }
    }

    @Test
    void standbyTakesOverWhenTheLeaderStops() {
        KubernetesClient client = API.client();
        try (MockCluster a = MockCluster.onApiServer(client);
                MockCluster b = MockCluster.onApiServer(client)) {
            a.start(MockCluster.fastSettings(), election("replica-a"));
            await().atMost(WAIT)
                    .until(
                            () ->
                                    lease() != null
                                            && "replica-a"
                                                    .equals(lease().getSpec().getHolderIdentity()));
            b.start(MockCluster.fastSettings(), election("replica-b"));
            a.apply("first", PINNED, Map.of("zone", "a"), null);
            await().atMost(WAIT)
                    .untilAsserted(() -> a.assertCondition("first", "Resolved", "True", "Pinned"));
            // Two Lease durations: the standby neither takes the Lease nor reconciles.
            await().during(Duration.ofSeconds(8))
                    .atMost(WAIT)
                    .until(() -> "replica-a".equals(lease().getSpec().getHolderIdentity()));
            assertThat(b.metrics.count("kcfs_operator_reconciles_total"))
                    .as("standby reconciles")
                    .isZero();
            int transitions =
                    lease().getSpec().getLeaseTransitions() == null
                            ? 0
                            : lease().getSpec().getLeaseTransitions();

            a.close();
            await().atMost(WAIT)
                    .until(() -> "replica-b".equals(lease().getSpec().getHolderIdentity()));
            assertThat(lease().getSpec().getLeaseTransitions()).isEqualTo(transitions + 1);
            b.apply("second", PINNED, Map.of("zone", "a"), null);
            await().atMost(WAIT)
                    .untilAsserted(() -> b.assertCondition("second", "Resolved", "True", "Pinned"));
            assertThat(b.metrics.count("kcfs_operator_reconciles_total")).isPositive();
        }
    }
}
