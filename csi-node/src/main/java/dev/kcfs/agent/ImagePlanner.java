package dev.kcfs.agent;

import dev.kcfs.api.ImageState;
import dev.kcfs.publish.ExpectedDigests;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Decides what to do about one image on this node from what the cluster asks ({@link Wanted}),
 * what the node has ({@link Have}) and the time. A pure function: the agent carries the plan out
 * (starts and stops builds, takes refs, writes the report), so every rule of building, backoff,
 * rejecting and releasing is testable without threads, a store or an API server.
 */
final class ImagePlanner {
    /**
     * What the cluster asks of one image this node wants: its build key (null until the operator
     * pins {@code spec.source.image}), the spec's generation, {@code spec.expectedDigest}, and whether
     * a pod asked for it lately ({@link #onDemandActive}).
     */
    record Wanted(
            String name, BuildKey key, long generation, String expectedDigest, boolean onDemand) {}

    /**
     * What the node has of one image: the reported state, what the ref points at (null when unknown),
     * the key of the build running now (null when none), the last failure (null when none counts) and
     * whether the cache limit evicted it.
     */
    record Have(
            ImageState state,
            BuildRecords.Record built,
            BuildKey building,
            Failure failure,
            boolean evicted) {}

    /**
     * The last failed build: of which key and generation, whether another attempt can help, how many
     * attempts failed in a row, and when the next may start.
     */
    record Failure(
            BuildKey key, long generation, boolean retryable, int attempts, Instant nextAttempt) {
        /** A pod waits for the image: worth an early retry. */
        Failure retryNow() {
            return retryable ? new Failure(key, generation, true, attempts, Instant.MIN) : this;
        }
    }

    /** What to do about one image. */
    sealed interface Action {
        /** Nothing changes. */
        record Keep() implements Action {}

        /** Report this state and message. */
        record Report(ImageState state, String message) implements Action {}

        /** The image built for {@code key} does not have the expected digest: take its ref and fail, not retried. */
        record Reject(BuildKey key, long generation, String message) implements Action {}

        /** A retryable failure whose backoff has not passed yet: plan again at {@code at}. */
        record RetryAt(Instant at) implements Action {}

        /**
         * Start a build of {@code key}, reporting {@code message} meanwhile; {@code resetBackoff}: the
         * spec changed since the last failure, so the attempt count starts over.
         */
        record Build(BuildKey key, long generation, boolean resetBackoff, String message)
                implements Action {}

        /** No longer wanted and not in use: take its ref and forget it. */
        record Drop() implements Action {}
    }

    /** The action, and whether the running build must stop first (the image changed, or is no longer wanted). */
    record Plan(boolean cancelBuild, Action action) {
        static Plan of(Action action) {
            return new Plan(false, action);
        }
    }

    private static final Action KEEP = new Action.Keep();

    private final int buildConcurrency;
    private final long cacheMaxBytes;
    private final Duration firstRetry;
    private final Duration maxRetry;

    ImagePlanner(NodeAgent.Settings settings) {
        this.buildConcurrency = settings.buildConcurrency();
        this.cacheMaxBytes = settings.cacheMaxBytes();
        this.firstRetry = settings.firstRetry();
        this.maxRetry = settings.maxRetry();
    }

    /** Whether a pod asked for (or used) the image within {@code keep} of {@code now}. */
    static boolean onDemandActive(
            Instant requestedAt, Instant lastUsed, Instant now, Duration keep) {
        Instant last = requestedAt;
        if (lastUsed != null && (last == null || lastUsed.isAfter(last))) {
            last = lastUsed;
        }
        return last != null && now.isBefore(last.plus(keep));
    }

    /** The plan for an image this node wants. */
    Plan wanted(Wanted w, Have h, Instant now) {
        if (h.evicted() && !w.onDemand()) {
            return Plan.of(new Action.Report(ImageState.Pending, evictedMessage()));
        }
        BuildKey key = w.key();
        if (key == null) {
            // while the operator pins a new spec, what was built (or is building) is served on
            return Plan.of(
                    h.building() == null && h.built() == null
                            ? new Action.Report(
                                    ImageState.Pending,
                                    "waiting for the operator to pin spec.source.image"
                                            + " (status.resolvedImage)")
                            : KEEP);
        }
        boolean cancel = false;
        if (h.building() != null) {
            if (key.equals(h.building())) {
                return Plan.of(KEEP);
            }
            cancel = true; // the image changed while building: start over
        }
        return new Plan(cancel, notBuilding(w, h, now));
    }

    private Action notBuilding(Wanted w, Have h, Instant now) {
        BuildKey key = w.key();
        if (h.built() != null && h.built().key().equals(key)) {
            Optional<String> wrong =
                    ExpectedDigests.mismatch(w.name(), w.expectedDigest(), h.built().digest());
            // built before expectedDigest said otherwise: no new pod may mount it, and rebuilding
            // cannot help
            return wrong.<Action>map(
                            m ->
                                    new Action.Reject(
                                            key,
                                            w.generation(),
                                            m + " (not retried until the ComposefsImage changes)"))
                    .orElseGet(() -> new Action.Report(ImageState.Ready, null));
        }
        Failure f = h.failure();
        boolean sameFailure =
                h.state() == ImageState.Failed
                        && f != null
                        && key.equals(f.key())
                        && w.generation() == f.generation();
        if (sameFailure) {
            if (!f.retryable()) {
                return KEEP; // only a spec change (a new generation) can help
            }
            if (now.isBefore(f.nextAttempt())) {
                return new Action.RetryAt(f.nextAttempt());
            }
        }
        return new Action.Build(
                key,
                w.generation(),
                !sameFailure && f != null,
                "queued: at most " + buildConcurrency + " build(s) run at once");
    }

    /** The plan for an image this node no longer wants: kept while volumes use it, else dropped. */
    Plan unwanted(Have h, int volumes, boolean mountRecorded) {
        boolean cancel = h.building() != null;
        if (volumes > 0 || (h.built() != null && mountRecorded)) {
            return new Plan(
                    cancel,
                    new Action.Report(
                            h.built() != null ? ImageState.Ready : h.state(),
                            "no longer wanted on this node; kept while "
                                    + Math.max(volumes, 1)
                                    + " volume(s) use it"));
        }
        return new Plan(cancel, new Action.Drop());
    }

    /** The report of an image evicted for the cache limit. */
    String evictedMessage() {
        return "evicted to keep the node store under --cache-max-bytes "
                + cacheMaxBytes
                + "; built again when a pod mounts it";
    }

    /** The failure after one more failed build at {@code now}; {@code previous} is null after a success or a spec change. */
    Failure failed(
            Failure previous, BuildKey key, long generation, boolean retryable, Instant now) {
        int attempts = (previous == null ? 0 : previous.attempts()) + 1;
        return new Failure(key, generation, retryable, attempts, now.plus(retryDelay(attempts)));
    }

    /** Wait before retrying after {@code attempts} failures in a row: firstRetry, doubling up to maxRetry. */
    Duration retryDelay(int attempts) {
        long first = firstRetry.toMillis();
        return Duration.ofMillis(
                Math.min(maxRetry.toMillis(), first << Math.min(20, attempts - 1)));
    }

    /** The reported message of a failed build. */
    static String failureMessage(BuildException error, Failure f, Duration wait) {
        return error.getMessage()
                + (error.retryable()
                        ? " (attempt " + f.attempts() + "; retrying in " + human(wait) + ")"
                        : " (not retried until the ComposefsImage changes)");
    }

    private static String human(Duration d) {
        return d.toMillis() < 1000 ? d.toMillis() + " ms" : d.toSeconds() + " s";
    }
}
