package dev.kcfs.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.util.Optional;

/** Wires JOSDK the one way kcfs runs it, shared by main, the tests and the scale benchmark. */
public final class KcfsOperator {
    private KcfsOperator() {}

    /**
     * @param serverSideApply write the finalizer and the status with server-side apply (JOSDK's
     *     default), so the operator's field manager owns exactly those fields. Off only for an API
     *     server without it: the fabric8 mock answers 415 to an apply patch.
     */
    public static Operator create(
            KubernetesClient client,
            ComposefsImageReconciler reconciler,
            Optional<LeaderElectionConfiguration> leaderElection,
            boolean serverSideApply) {
        Operator operator =
                new Operator(
                        o -> {
                            o.withKubernetesClient(client)
                                    .withUseSSAToPatchPrimaryResource(serverSideApply)
                                    .withSSABasedCreateUpdateMatchForDependentResources(
                                            serverSideApply)
                                    // Compare resourceVersions so a status this operator just wrote
                                    // is not replaced in its cache
                                    // by an older watch event (that stale read re-emitted "Ready"
                                    // events in the scale benchmark).
                                    // Kubernetes resourceVersions are etcd revisions: integers that
                                    // grow.
                                    .withParseResourceVersions(true)
                                    .withCloseClientOnStop(false);
                            leaderElection.ifPresent(o::withLeaderElectionConfiguration);
                        });
        operator.register(reconciler);
        return operator;
    }
}
