package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator against the fabric8 mock API server in CRUD mode, for what a real server cannot show:
 * the mock checks no schema, so an invalid spec reaches the operator's own check. A real server
 * refuses that spec ({@code ComposefsImageReconcilerTest.schemaRefusesInvalidSpecs}); the check
 * covers specs stored before the CRD validated them, or under a CRD installed without its schema.
 */
@EnableKubernetesMockClient(crud = true)
class ComposefsImageReconcilerMockTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  KubernetesClient client;
  MockCluster cluster;

  @BeforeEach
  void setUp() throws Exception {
    cluster = new MockCluster(client).installCrds();
  }

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  @Test
  void invalidSpecGivesConditionAndEventWithoutRetrying() throws Exception {
    cluster.start(MockCluster.fastSettings());
    cluster.apply("bad", "Not An Image!", Map.of("zone", "a"), "xyz");
    await().atMost(WAIT).untilAsserted(() -> {
      cluster.assertCondition("bad", "Resolved", "False", "InvalidSpec");
      cluster.assertCondition("bad", "Ready", "False", "InvalidSpec");
      assertThat(cluster.condition("bad", "Resolved").getMessage())
          .contains("spec.source.image 'Not An Image!'").contains("spec.expectedDigest 'xyz'");
    });
    assertThat(cluster.events("bad", "InvalidSpec")).hasSize(1);
    double reconciles = cluster.metrics.count("kcfs_operator_reconciles_total");
    Thread.sleep(3000); // longer than every retry interval in fastSettings
    assertThat(cluster.metrics.count("kcfs_operator_reconciles_total")).as("no retry loop on a bad spec").isEqualTo(reconciles);

    // Fixing the spec recovers without a restart.
    cluster.editImage("bad", x -> {
      x.getSpec().getSource().setImage("example.org/a/b@sha256:" + "1".repeat(64));
      x.getSpec().setExpectedDigest(null);
    });
    await().atMost(WAIT).untilAsserted(() -> cluster.assertCondition("bad", "Resolved", "True", "Pinned"));
  }
}
