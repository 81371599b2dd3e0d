package dev.kcfs.agent;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.Verity;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.ImagePolicy;
import dev.kcfs.publish.ImageVerity;
import dev.kcfs.publish.OnDemandBuilds.BuildState;
import dev.kcfs.publish.PolicyUnavailableException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the node agent answers the CSI plugin about each image: who may mount it, how strictly it
 * is checked, which digest it must have, whether a build for a pod is started, and which images
 * were used. Answered from the agent's watch cache ({@link Cluster}) and image table
 * ({@link Table}); this class holds the rules and the messages, not the state.
 */
final class AgentPolicy {
    /** The agent's watch cache of ComposefsImages. */
    interface Cluster {
        /** Whether the watches have listed once. */
        boolean synced();

        /** The cached ComposefsImage {@code imageName}, or null. */
        ComposefsImage image(String imageName);
    }

    /** The agent's image table, as the CSI side touches it. */
    interface Table {
        /** Whether the agent is stopping. */
        boolean stopping();

        /**
         * Marks {@code imageName} as asked for by a pod now (creating its entry) and says what it
         * is doing; when no build runs and it has not failed, forgets what it was built from so the
         * next pass builds it again ({@code key} null: not pinned yet, nothing to build from).
         * Wakes the planner.
         */
        Demand demand(String imageName, BuildKey key);

        /** Records a use of {@code imageName} now (lastUsed, LRU eviction). */
        void used(String imageName);
    }

    /** What an image asked for is doing: building (with its progress), failed (why) or neither. */
    record Demand(Kind kind, String message) {
        enum Kind {
            BUILDING,
            FAILED,
            IDLE
        }
    }

    private final String nodeName;
    private final Cluster cluster;
    private final Table table;

    AgentPolicy(String nodeName, Cluster cluster, Table table) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        this.table = Objects.requireNonNull(table, "table");
    }

    /** The answers as the CSI plugin asks them; {@code nodeMode} as in {@link #verity}. */
    ImagePolicy imagePolicy(VerityMode nodeMode) {
        return new ImagePolicy(
                this::allowedNamespaces,
                verity(nodeMode),
                this::expectedDigest,
                this::request,
                table::used);
    }

    Set<String> allowedNamespaces(String imageName) {
        if (!cluster.synced()) {
            throw new PolicyUnavailableException(
                    "the kcfs node agent on node "
                            + nodeName
                            + " has not loaded the ComposefsImages from the API server yet, so it cannot check who may mount "
                            + imageName
                            + "; the mount is retried");
        }
        ComposefsImage ci = cluster.image(imageName);
        if (ci == null || ci.getSpec() == null || ci.getSpec().getAllowedNamespaces() == null) {
            return Set.of();
        }
        return Set.copyOf(ci.getSpec().getAllowedNamespaces());
    }

    Optional<String> expectedDigest(String imageName) {
        if (!cluster.synced()) {
            throw new PolicyUnavailableException(
                    "the kcfs node agent on node "
                            + nodeName
                            + " has not loaded the ComposefsImages from the API server yet, so it cannot check the digest of "
                            + imageName
                            + "; the mount is retried");
        }
        ComposefsImage ci = cluster.image(imageName);
        return ci == null || ci.getSpec() == null
                ? Optional.empty()
                : Optional.ofNullable(ci.getSpec().getExpectedDigest());
    }

    /**
     * The verity mode of each image by {@link Verity#effectiveMode}: {@code nodeMode} where it is
     * REQUIRED, else the image's {@code spec.verity}, else {@code nodeMode} where the spec says nothing
     * or the watch cache is not loaded yet. The API server defaults spec.verity to IfSupported, so a
     * weaker node mode never overrides a spec.
     */
    ImageVerity verity(VerityMode nodeMode) {
        return imageName -> {
            ComposefsImage ci = cluster.synced() ? cluster.image(imageName) : null;
            return Verity.effectiveMode(
                    nodeMode, ci == null || ci.getSpec() == null ? null : ci.getSpec().getVerity());
        };
    }

    /** Starts (or reports) a build of an image a pod asks for; answers at once. */
    BuildState request(String imageName) {
        if (table.stopping()) {
            return new BuildState(BuildState.Kind.FAILED, "the kcfs node agent is stopping");
        }
        if (!cluster.synced()) {
            return new BuildState(
                    BuildState.Kind.BUILDING,
                    "the kcfs node agent is still loading the ComposefsImages");
        }
        ComposefsImage ci = cluster.image(imageName);
        if (ci == null || ci.getMetadata().getDeletionTimestamp() != null) {
            return new BuildState(
                    BuildState.Kind.UNKNOWN_IMAGE, "no ComposefsImage named " + imageName);
        }
        BuildKey key = BuildKey.of(ci);
        Demand d = table.demand(imageName, key);
        return switch (d.kind()) {
            case BUILDING ->
                    new BuildState(
                            BuildState.Kind.BUILDING,
                            d.message() == null ? "building" : d.message());
            case FAILED -> new BuildState(BuildState.Kind.FAILED, d.message());
            case IDLE ->
                    key == null
                            ? new BuildState(
                                    BuildState.Kind.BUILDING,
                                    "waiting for the operator to pin spec.source.image")
                            // Ready but the CSI plugin did not find it: the ref went away; it is
                            // built again
                            : new BuildState(BuildState.Kind.STARTED, "building " + key.imageRef());
        };
    }
}
