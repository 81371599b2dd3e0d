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
          .withCloseClientOnStop(false);
      leaderElection.ifPresent(o::withLeaderElectionConfiguration);
    });
    operator.register(reconciler);
    return operator;
  }
}
