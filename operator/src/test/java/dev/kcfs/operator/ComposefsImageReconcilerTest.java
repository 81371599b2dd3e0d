package dev.kcfs.operator;

import static dev.kcfs.operator.MockCluster.built;
import static dev.kcfs.operator.MockCluster.state;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.SecretRef;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator against the fabric8 mock API server in CRUD mode, with a real docker-registry where a
 * registry is needed. Node agents are simulated by writing ComposefsNode reports.
 */
@EnableKubernetesMockClient(crud = true)
class ComposefsImageReconcilerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String D1 = "1111111111111111111111111111111111111111111111111111111111111111";
  private static final String D2 = "2222222222222222222222222222222222222222222222222222222222222222";

  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path tmp;
  MockCluster cluster;

  @BeforeEach
  void setUp() throws Exception {
    cluster = new MockCluster(client).installCrds();
  }

  @AfterEach
  void tearDown() {
    cluster.close();
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
    try (TestRegistry registry = TestRegistry.start(tmp)) {
      String manifest = registry.push("kcfs/tools", "v1", "one");
      threeNodes();
      cluster.start(MockCluster.fastSettings());
      cluster.apply("tools", registry.host() + "/kcfs/tools:v1", Map.of("zone", "a"), null);

      await().atMost(WAIT).untilAsserted(() -> {
        cluster.assertCondition("tools", "Resolved", "True", "Pinned");
        assertThat(cluster.get("tools").getStatus().getResolvedImage())
            .isEqualTo(registry.host() + "/kcfs/tools@" + manifest);
        cluster.assertCondition("tools", "Ready", "False", "Building");
        assertThat(cluster.get("tools").getStatus().getNodes().getDesired()).isEqualTo(2);
      });
      assertThat(cluster.get("tools").getMetadata().getFinalizers()).isNotEmpty();
      assertThat(cluster.events("tools", "Resolved")).hasSize(1);

      cluster.report("n1", built("tools", D1));
      cluster.report("n2", state("tools", ImageState.Building, null));
      cluster.report("n3", built("tools", D1)); // built on demand outside the selector: not counted
      await().atMost(WAIT).untilAsserted(() -> {
        var s = cluster.get("tools").getStatus();
        assertThat(s.getReady()).isEqualTo("1/2");
        cluster.assertCondition("tools", "Ready", "False", "Building");
      });

      cluster.report("n2", built("tools", D1));
      await().atMost(WAIT).untilAsserted(() -> {
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
        assertThat(s.getObservedGeneration()).isEqualTo(cluster.get("tools").getMetadata().getGeneration());
      });
      assertThat(cluster.events("tools", "Ready")).hasSize(1);

      // A label change moves n3 into the selection: desired grows without any report changing.
      client.nodes().withName("n3").edit(n -> {
        n.getMetadata().getLabels().put("zone", "a");
        return n;
      });
      await().atMost(WAIT).untilAsserted(() -> assertThat(cluster.get("tools").getStatus().getReady()).isEqualTo("3/3"));

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
    await().atMost(WAIT).untilAsserted(() -> cluster.assertCondition("tools", "Resolved", "True", "Pinned"));
    cluster.report("n1", built("tools", D1));
    cluster.report("n2", built("tools", D2));
    await().atMost(WAIT).untilAsserted(() -> {
      cluster.assertCondition("tools", "Degraded", "True", "DigestDisagreement");
      cluster.assertCondition("tools", "Ready", "False", "Degraded");
      var s = cluster.get("tools").getStatus();
      assertThat(s.getDigest()).as("no agreed digest").isNull();
      assertThat(s.getNodes().getReady() + s.getNodes().getFailed()).isEqualTo(2);
      assertThat(cluster.condition("tools", "Degraded").getMessage()).contains(D1).contains(D2).contains("n1").contains("n2");
    });
    assertThat(cluster.events("tools", "DigestDisagreement")).hasSize(1);
    assertThat(cluster.get("tools").getStatus().getResolvedImage()).isEqualTo(pinned);

    // n2 rebuilds and agrees: the image recovers.
    cluster.report("n2", built("tools", D1));
    await().atMost(WAIT).untilAsserted(() -> {
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
    await().atMost(WAIT).untilAsserted(() -> {
      cluster.assertCondition("tools", "Degraded", "True", "DigestMismatch");
      cluster.assertCondition("tools", "Ready", "False", "Degraded");
      var s = cluster.get("tools").getStatus();
      assertThat(s.getDigest()).as("what the nodes agree on").isEqualTo(D1);
      assertThat(s.getNodes().getReady()).isZero();
      assertThat(s.getNodes().getFailed()).isEqualTo(2);
      assertThat(cluster.condition("tools", "Degraded").getMessage()).contains("spec.expectedDigest is " + D2);
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
    await().atMost(WAIT).untilAsserted(() -> {
      cluster.assertCondition("tools", "Degraded", "True", "BuildFailed");
      assertThat(cluster.condition("tools", "Degraded").getMessage()).contains("n2: layer 2: disk full");
      assertThat(cluster.get("tools").getStatus().getNodes().getFailed()).isEqualTo(1);
    });
  }

  @Test
  void unreachableRegistryGivesConditionAndEventAndRetries() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    cluster.start(MockCluster.fastSettings());
    cluster.apply("tools", "127.0.0.1:" + closedPort + "/kcfs/tools:v1", Map.of("zone", "a"), null);
    await().atMost(WAIT).untilAsserted(() -> {
      cluster.assertCondition("tools", "Resolved", "False", "RegistryUnreachable");
      assertThat(cluster.condition("tools", "Resolved").getMessage()).contains("127.0.0.1:" + closedPort).contains("unreachable");
      cluster.assertCondition("tools", "Ready", "False", "Unresolved");
    });
    // Retried (fastSettings: every 2 s), yet only one event for the one state change.
    await().atMost(WAIT).until(() -> cluster.registry.find("kcfs_operator_resolve_duration_seconds")
        .tag("result", "failed").timer().count() >= 3);
    assertThat(cluster.events("tools", "RegistryUnreachable")).hasSize(1);
  }

  @Test
  void missingPullSecretGivesConditionAndEvent() throws Exception {
    cluster.start(MockCluster.fastSettings());
    ComposefsImage ci = MockCluster.newImage("tools", "127.0.0.1:1/kcfs/tools:v1", Map.of("zone", "a"), null);
    ci.getSpec().getSource().setPullSecrets(List.of(new SecretRef("ci", "regcred")));
    client.resource(ci).create();
    await().atMost(WAIT).untilAsserted(() -> {
      cluster.assertCondition("tools", "Resolved", "False", "PullSecretNotFound");
      assertThat(cluster.condition("tools", "Resolved").getMessage()).contains("ci/regcred").contains("does not exist");
    });
    assertThat(cluster.events("tools", "PullSecretNotFound")).hasSize(1);
  }

  @Test
  void pullSecretLoginIsUsedForBasicAuth() throws Exception {
    try (TestRegistry registry = TestRegistry.start(tmp, "kcfs", "s3cret")) {
      String manifest = registry.push("private/tools", "v1", "auth");
      cluster.start(MockCluster.fastSettings());
      cluster.apply("noauth", registry.host() + "/private/tools:v1", Map.of("zone", "a"), null);
      await().atMost(WAIT).untilAsserted(() -> cluster.assertCondition("noauth", "Resolved", "False", "Unauthorized"));
      assertThat(cluster.events("noauth", "Unauthorized")).hasSize(1);

      String auth = Base64.getEncoder().encodeToString("kcfs:s3cret".getBytes(StandardCharsets.UTF_8));
      String dockerConfig = "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\"" + auth + "\"}}}";
      client.secrets().inNamespace("ci").resource(new SecretBuilder().withNewMetadata().withName("regcred")
          .withNamespace("ci").endMetadata().withType("kubernetes.io/dockerconfigjson")
          .withData(Map.of(".dockerconfigjson", Base64.getEncoder().encodeToString(dockerConfig.getBytes(StandardCharsets.UTF_8))))
          .build()).create();
      ComposefsImage withSecret = MockCluster.newImage("auth", registry.host() + "/private/tools:v1", Map.of("zone", "a"), null);
      withSecret.getSpec().getSource().setPullSecrets(List.of(new SecretRef("ci", "regcred")));
      client.resource(withSecret).create();
      await().atMost(WAIT).untilAsserted(() -> {
        cluster.assertCondition("auth", "Resolved", "True", "Pinned");
        assertThat(cluster.get("auth").getStatus().getResolvedImage()).isEqualTo(registry.host() + "/private/tools@" + manifest);
      });
    }
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
      x.getSpec().getSource().setImage("example.org/a/b@sha256:" + D1);
      x.getSpec().setExpectedDigest(null);
    });
    await().atMost(WAIT).untilAsserted(() -> cluster.assertCondition("bad", "Resolved", "True", "Pinned"));
  }

  @Test
  void deletionWaitsForNodesToRelease() {
    threeNodes();
    cluster.start(MockCluster.fastSettings());
    cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
    cluster.report("n1", built("tools", D1));
    cluster.report("n2", built("tools", D1));
    await().atMost(WAIT).untilAsserted(() -> cluster.assertCondition("tools", "Ready", "True", "AllNodesReady"));

    client.resources(ComposefsImage.class).withName("tools").delete();
    await().atMost(WAIT).untilAsserted(() -> assertThat(cluster.events("tools", "WaitingForNodes")).hasSize(1));
    assertThat(cluster.get("tools")).as("held by the finalizer").isNotNull();
    assertThat(cluster.get("tools").getMetadata().getDeletionTimestamp()).isNotNull();

    cluster.report("n1");
    await().during(Duration.ofSeconds(1)).atMost(WAIT).until(() -> cluster.get("tools") != null);
    assertThat(cluster.events("tools", "WaitingForNodes").get(0).getMessage()).contains("n1").contains("n2");
    cluster.report("n2");
    await().atMost(WAIT).until(() -> cluster.get("tools") == null);
    assertThat(cluster.events("tools", "ReleaseTimedOut")).isEmpty();
  }

  @Test
  void deletionStopsWaitingAfterTheReleaseTimeout() {
    threeNodes();
    var settings = new ComposefsImageReconciler.Settings(Duration.ofSeconds(4), Duration.ofMillis(300),
        Duration.ofSeconds(2), Duration.ofSeconds(2), "default", Duration.ofMillis(500));
    cluster.start(settings);
    cluster.apply("tools", "example.org/kcfs/tools@sha256:" + D1, Map.of("zone", "a"), null);
    cluster.report("n1", built("tools", D1));
    await().atMost(WAIT).untilAsserted(() -> cluster.assertCondition("tools", "Resolved", "True", "Pinned"));
    client.resources(ComposefsImage.class).withName("tools").delete();
    // n1 never releases: the finalizer holds the object (deletionTimestamp has 1 s resolution, so
    // the 4 s timeout leaves at least 3 s), then gives up.
    await().during(Duration.ofSeconds(2)).atMost(WAIT).until(() -> cluster.get("tools") != null);
    assertThat(cluster.events("tools", "WaitingForNodes")).hasSize(1);
    await().atMost(WAIT).until(() -> cluster.get("tools") == null);
    assertThat(cluster.events("tools", "ReleaseTimedOut")).hasSize(1);
    assertThat(cluster.events("tools", "ReleaseTimedOut").get(0).getMessage()).contains("n1");
  }
}
