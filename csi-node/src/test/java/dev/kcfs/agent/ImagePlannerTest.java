package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.agent.ImagePlanner.Action;
import dev.kcfs.agent.ImagePlanner.Failure;
import dev.kcfs.agent.ImagePlanner.Have;
import dev.kcfs.agent.ImagePlanner.Plan;
import dev.kcfs.agent.ImagePlanner.Wanted;
import dev.kcfs.api.ImageState;
import dev.kcfs.verity.Digest;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The planner's rules, one decision at a time: no threads, store or API server. */
class ImagePlannerTest {
    private static final Instant NOW = Instant.parse("2025-01-01T12:00:00Z");
    private static final BuildKey V1 =
            new BuildKey("registry.example/tools@sha256:" + "1".repeat(64), 1, "linux/amd64");
    private static final BuildKey V2 =
            new BuildKey("registry.example/tools@sha256:" + "2".repeat(64), 1, "linux/amd64");
    private static final Digest BUILT = Digest.parse("ab".repeat(32));

    private final ImagePlanner planner =
            new ImagePlanner(
                    NodeAgent.Settings.defaults("n1")
                            .withBuildConcurrency(2)
                            .withCacheMaxBytes(1000)
                            .withIntervals(
                                    Duration.ofSeconds(30),
                                    Duration.ofHours(1),
                                    Duration.ofSeconds(5),
                                    Duration.ofSeconds(30)));

    private static Wanted wanted(BuildKey key) {
        return new Wanted("tools", key, 3, null, false);
    }

    private static Have nothing() {
        return new Have(ImageState.Pending, null, null, null, false);
    }

    private static BuildRecords.Record built(BuildKey key) {
        return new BuildRecords.Record("tools", key, BUILT, 4, 2, 100, NOW.minusSeconds(60), null);
    }

    @Test
    void aPinnedImageNotOnTheNodeIsBuilt() {
        assertThat(planner.wanted(wanted(V1), nothing(), NOW))
                .isEqualTo(
                        Plan.of(
                                new Action.Build(
                                        V1, 3, false, "queued: at most 2 build(s) run at once")));
    }

    @Test
    void anUnpinnedImageWaitsButWhatWasBuiltIsServedOn() {
        assertThat(planner.wanted(wanted(null), nothing(), NOW).action())
                .isEqualTo(
                        new Action.Report(
                                ImageState.Pending,
                                "waiting for the operator to pin spec.source.image (status.resolvedImage)"));
        Have ready = new Have(ImageState.Ready, built(V1), null, null, false);
        assertThat(planner.wanted(wanted(null), ready, NOW).action())
                .isInstanceOf(Action.Keep.class);
    }

    @Test
    void aBuildOfTheSameKeyRunsOnAndAChangedKeyStartsOver() {
        Have building = new Have(ImageState.Building, null, V1, null, false);
        assertThat(planner.wanted(wanted(V1), building, NOW)).isEqualTo(Plan.of(new Action.Keep()));
        Plan changed = planner.wanted(wanted(V2), building, NOW);
        assertThat(changed.cancelBuild()).isTrue();
        assertThat(changed.action()).isInstanceOf(Action.Build.class);
    }

    @Test
    void builtWithTheWantedKeyIsReadyUnlessTheDigestIsNotTheExpectedOne() {
        Have ready = new Have(ImageState.Pending, built(V1), null, null, false);
        assertThat(planner.wanted(wanted(V1), ready, NOW).action())
                .isEqualTo(new Action.Report(ImageState.Ready, null));
        Wanted expecting = new Wanted("tools", V1, 3, "cd".repeat(32), false);
        assertThat(planner.wanted(expecting, ready, NOW).action())
                .isInstanceOfSatisfying(
                        Action.Reject.class,
                        r -> {
                            assertThat(r.key()).isEqualTo(V1);
                            assertThat(r.generation()).isEqualTo(3);
                            assertThat(r.message())
                                    .contains("has digest " + BUILT.hex())
                                    .contains("not retried");
                        });
        assertThat(planner.wanted(wanted(V2), ready, NOW).action())
                .isInstanceOf(Action.Build.class);
    }

    @Test
    void aFailureIsRetriedAfterItsBackoffAndNotAtAllWhenRetryingCannotHelp() {
        Failure retryable = planner.failed(null, V1, 3, true, NOW);
        assertThat(retryable.nextAttempt()).isEqualTo(NOW.plusSeconds(5));
        Have failed = new Have(ImageState.Failed, null, null, retryable, false);
        assertThat(planner.wanted(wanted(V1), failed, NOW.plusSeconds(1)).action())
                .isEqualTo(new Action.RetryAt(NOW.plusSeconds(5)));
        assertThat(planner.wanted(wanted(V1), failed, NOW.plusSeconds(5)).action())
                .isEqualTo(
                        new Action.Build(V1, 3, false, "queued: at most 2 build(s) run at once"));
        assertThat(
                        planner.wanted(
                                        wanted(V1),
                                        new Have(
                                                ImageState.Failed,
                                                null,
                                                null,
                                                retryable.retryNow(),
                                                false),
                                        NOW.plusSeconds(1))
                                .action())
                .isInstanceOf(Action.Build.class);

        Failure hopeless = planner.failed(null, V1, 3, false, NOW);
        Have stuck = new Have(ImageState.Failed, null, null, hopeless, false);
        assertThat(planner.wanted(wanted(V1), stuck, NOW.plusSeconds(3600)).action())
                .isInstanceOf(Action.Keep.class);
        assertThat(hopeless.retryNow()).isEqualTo(hopeless);
    }

    @Test
    void aChangedSpecStartsTheBackoffOver() {
        Failure f = planner.failed(planner.failed(null, V1, 3, true, NOW), V1, 3, true, NOW);
        assertThat(f.attempts()).isEqualTo(2);
        Have failed = new Have(ImageState.Failed, null, null, f, false);
        assertThat(planner.wanted(new Wanted("tools", V1, 4, null, false), failed, NOW).action())
                .isEqualTo(new Action.Build(V1, 4, true, "queued: at most 2 build(s) run at once"));
    }

    @Test
    void theBackoffDoublesUpToItsCap() {
        assertThat(planner.retryDelay(1)).isEqualTo(Duration.ofSeconds(5));
        assertThat(planner.retryDelay(2)).isEqualTo(Duration.ofSeconds(10));
        assertThat(planner.retryDelay(3)).isEqualTo(Duration.ofSeconds(20));
        assertThat(planner.retryDelay(4)).isEqualTo(Duration.ofSeconds(30));
        assertThat(planner.retryDelay(400)).isEqualTo(Duration.ofSeconds(30));
        BuildException e = new BuildException("cannot reach the registry", true, null);
        assertThat(
                        ImagePlanner.failureMessage(
                                e, planner.failed(null, V1, 1, true, NOW), Duration.ofMillis(300)))
                .isEqualTo("cannot reach the registry (attempt 1; retrying in 300 ms)");
    }

    @Test
    void anEvictedImageWaitsForAPod() {
        Have evicted = new Have(ImageState.Pending, null, null, null, true);
        assertThat(planner.wanted(wanted(V1), evicted, NOW).action())
                .isEqualTo(
                        new Action.Report(
                                ImageState.Pending,
                                "evicted to keep the node store under --cache-max-bytes 1000; built again when a pod mounts it"));
        Wanted asked = new Wanted("tools", V1, 3, null, true);
        assertThat(planner.wanted(asked, evicted, NOW).action()).isInstanceOf(Action.Build.class);
    }

    @Test
    void anImageNoLongerWantedIsKeptWhileMountedElseDropped() {
        Have ready = new Have(ImageState.Ready, built(V1), null, null, false);
        assertThat(planner.unwanted(ready, 2, false))
                .isEqualTo(
                        Plan.of(
                                new Action.Report(
                                        ImageState.Ready,
                                        "no longer wanted on this node; kept while 2 volume(s) use it")));
        assertThat(planner.unwanted(ready, 0, true).action())
                .isEqualTo(
                        new Action.Report(
                                ImageState.Ready,
                                "no longer wanted on this node; kept while 1 volume(s) use it"));
        assertThat(planner.unwanted(ready, 0, false)).isEqualTo(Plan.of(new Action.Drop()));
        Have building = new Have(ImageState.Building, null, V1, null, false);
        assertThat(planner.unwanted(building, 0, false))
                .isEqualTo(new Plan(true, new Action.Drop()));
    }

    @Test
    void onDemandLastsFromTheLastRequestOrUse() {
        Duration keep = Duration.ofMinutes(10);
        assertThat(ImagePlanner.onDemandActive(null, null, NOW, keep)).isFalse();
        assertThat(ImagePlanner.onDemandActive(NOW.minusSeconds(599), null, NOW, keep)).isTrue();
        assertThat(ImagePlanner.onDemandActive(NOW.minusSeconds(600), null, NOW, keep)).isFalse();
        assertThat(
                        ImagePlanner.onDemandActive(
                                NOW.minusSeconds(900), NOW.minusSeconds(10), NOW, keep))
                .isTrue();
    }
}
