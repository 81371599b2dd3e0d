package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class LeaderElectionAndMetricsTest {
  private static final String PINNED = "example.org/kcfs/tools@sha256:" + "c".repeat(64);
  KubernetesClient client;
  KubernetesMockServer server;

  /**
   * JOSDK checks its Lease permissions with a SelfSubjectRulesReview before it campaigns. The CRUD
   * mock rejects that request (it wants metadata), so answer it as an API server granting the
   * operator's RBAC would; everything else stays CRUD.
   */
  private void grantLeaseRules() {
    server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
        .andReturn(201, new SelfSubjectRulesReviewBuilder().withNewStatus()
            .addNewResourceRule().withApiGroups("coordination.k8s.io").withResources("leases")
            .withVerbs("get", "create", "update").endResourceRule().withIncomplete(false).endStatus().build())
        .always();
  }

  @Test
  void leaderTakesTheLeaseThenReconcilesAndServesMetrics() throws Exception {
    grantLeaseRules();
    try (MockCluster cluster = new MockCluster(client).installCrds()) {
      cluster.start(MockCluster.fastSettings(),
          // exitOnStopLeading=false: production exits (and restarts) when it loses the Lease, which
          // here would end the test JVM when the operator stops.
          Optional.of(new LeaderElectionConfiguration("kcfs-operator", "kcfs-system",
              LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE, LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
              LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE, "replica-a", null, false)));
      cluster.apply("tools", PINNED, Map.of("zone", "a"), null);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        Lease lease = client.leases().inNamespace("kcfs-system").withName("kcfs-operator").get();
        assertThat(lease).isNotNull();
        assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("replica-a");
        cluster.assertCondition("tools", "Resolved", "True", "Pinned");
      });

      try (MetricsServer server = new MetricsServer(new InetSocketAddress("127.0.0.1", 0), cluster.registry,
          () -> cluster.operator().getRuntimeInfo().allEventSourcesAreHealthy())) {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
            .contains("kcfs_operator_reconciles_total{outcome=\"ok\"}")
            .contains("kcfs_images{state=\"Progressing\"} 1.0")
            .contains("kcfs_operator_status_writes_total")
            .contains("jvm_memory_used_bytes");
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.port() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
      }
    }
  }
}
