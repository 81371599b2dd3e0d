package dev.kcfs.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.util.Optional;

/** Wires JOSDK the one way kcfs runs it, shared by main, the tests and the scale benchmark. */
public final class KcfsOperator {
  private KcfsOperator() {}

  public static Operator create(KubernetesClient client, ComposefsImageReconciler reconciler,
      Optional<LeaderElectionConfiguration> leaderElection) {
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          // No server-side apply: status is patched with JSON patches (see DEPENDENCIES.md; the
          // fabric8 mock API server has no SSA, and nothing here needs field ownership).
          .withUseSSAToPatchPrimaryResource(false)
          .withSSABasedCreateUpdateMatchForDependentResources(false)
          // Compare resourceVersions so a status this operator just wrote is not replaced in its cache
          // by an older watch event (that stale read re-emitted "Ready" events in the scale benchmark).
          // Kubernetes resourceVersions are etcd revisions: integers that grow.
          .withParseResourceVersions(true)
          .withCloseClientOnStop(false);
      leaderElection.ifPresent(o::withLeaderElectionConfiguration);
    });
    operator.register(reconciler);
    return operator;
  }
}
