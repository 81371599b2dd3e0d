package dev.kcfs.agent;

import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ImageState;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.pull.ImportProgress;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Build orchestration: runs an image's build on the build pool, carries its progress into the
 * {@link ImageTable}, and records the outcome: the build record and Ready, or the failure with its
 * backoff ({@link ImagePlanner#failed}). A build's result counts only while its token is still the
 * image's running build; the agent's loop is reached through {@link Loop}.
 */
final class Builds {
    private static final Logger LOG = LoggerFactory.getLogger(Builds.class);

    /** What a build tells the agent's loop. */
    interface Loop {
        /** Whether the agent is stopping (results no longer count). */
        boolean stopping();

        /** A planning pass soon. */
        void poke();

        /** A planning pass after {@code wait}. */
        void pokeIn(Duration wait);

        /** A status write soon. */
        void report();

        /** Tells the cluster (an event on ComposefsImage {@code imageName}) what a build did. */
        void built(String imageName, String message);
    }

    private final ImageTable table;
    private final ImageBuilder builder;
    private final BuildRecords records;
    private final ImagePlanner planner;
    private final StatusWriter status;
    private final NodeGc gc;
    private final Clock clock;
    private final ExecutorService pool;
    private final Supplier<AgentMetrics> metrics;
    private final Loop loop;

    Builds(
            ImageTable table,
            ImageBuilder builder,
            BuildRecords records,
            ImagePlanner planner,
            StatusWriter status,
            NodeGc gc,
            Clock clock,
            ExecutorService pool,
            Supplier<AgentMetrics> metrics,
            Loop loop) {
        this.table = table;
        this.builder = builder;
        this.records = records;
        this.planner = planner;
        this.status = status;
        this.gc = gc;
        this.clock = clock;
        this.pool = pool;
        this.metrics = metrics;
        this.loop = loop;
    }

    /** Queues a build of {@code e} and makes it the image's running build. The caller holds the table's monitor. */
    void start(ImageTable.Entry e, ComposefsImageSpec spec, BuildKey key, long generation) {
        String name = e.name;
        Object token = new Object();
        e.running =
                new ImageTable.Running(
                        key, token, pool.submit(() -> run(name, spec, key, generation, token)));
    }

    private boolean current(String name, Object token) {
        return !loop.stopping() && table.runs(name, token);
    }

    private void run(
            String name, ComposefsImageSpec spec, BuildKey key, long generation, Object token) {
        synchronized (table) {
            ImageTable.Entry e = table.get(name);
            if (loop.stopping() || e == null || !e.runs(token)) {
                return;
            }
            e.set(ImageState.Building, "pulling " + key.imageRef());
        }
        loop.report();
        Instant t0 = clock.instant();
        try {
            ImageBuilder.Built b =
                    builder.build(
                            name, spec, key, () -> current(name, token), progress(name, token));
            Instant now = clock.instant();
            BuildRecords.Record r;
            synchronized (table) {
                ImageTable.Entry e = table.get(name);
                r =
                        new BuildRecords.Record(
                                name,
                                key,
                                b.digest(),
                                b.files(),
                                b.objects(),
                                b.bytes(),
                                now,
                                e == null ? null : e.lastUsed);
            }
            records.save(r);
            synchronized (table) {
                ImageTable.Entry e = table.get(name);
                if (e != null && e.runs(token)) {
                    e.built = r;
                    e.running = null;
                    e.failure = null;
                    e.evicted = false;
                    e.set(ImageState.Ready, null);
                }
            }
            Duration took = Duration.between(t0, clock.instant());
            metrics.get().built(took, true);
            metrics.get()
                    .pulled(
                            b.bytesFetched(),
                            b.layerBytes(),
                            b.layers() - b.partialLayers() - b.storedLayers(),
                            b.partialLayers(),
                            b.storedLayers());
            String summary =
                    String.format(
                            java.util.Locale.ROOT,
                            "built from %s in %d ms: composefs digest %s, %d files, %d objects; %s",
                            key.imageRef(),
                            took.toMillis(),
                            b.digest().hex(),
                            b.files(),
                            b.objects(),
                            b.pulled());
            LOG.info("image {} {}", name, summary);
            loop.built(name, summary);
        } catch (InterruptedException e) {
            LOG.info("build of image {} stopped: {}", name, e.getMessage());
            synchronized (table) {
                ImageTable.Entry en = table.get(name);
                if (en != null && en.runs(token)) {
                    en.running = null;
                    en.set(ImageState.Pending, "build interrupted; starting again");
                }
            }
        } catch (BuildException | IOException | RuntimeException e) {
            BuildException be =
                    e instanceof BuildException b
                            ? b
                            : new BuildException(
                                    "building ComposefsImage " + name + " failed: " + e, true, e);
            metrics.get().built(Duration.between(t0, clock.instant()), false);
            failed(name, token, key, generation, be);
        } catch (OutOfMemoryError | StackOverflowError e) {
            // this process also serves CSI: what the failed build allocated is garbage once we are
            // here, so
            // the build fails (and is reported, with backoff) instead of taking the thread, or the
            // node, down
            String what = e instanceof OutOfMemoryError ? "ran out of memory" : "nested too deeply";
            metrics.get().built(Duration.between(t0, clock.instant()), false);
            failed(
                    name,
                    token,
                    key,
                    generation,
                    new BuildException(
                            "building ComposefsImage "
                                    + name
                                    + " from "
                                    + key.imageRef()
                                    + " "
                                    + what
                                    + " ("
                                    + e.getMessage()
                                    + "); give kcfs-node more memory (node.extraJavaOptions -Xmx)"
                                    + " if the image is that large",
                            true,
                            e));
        }
        status.storeChanged();
        gc.request(); // a finished import may leave unreferenced objects (whiteouts), a
        // failed one a temporary ref
        loop.report();
        loop.poke();
    }

    private void failed(
            String name, Object token, BuildKey key, long generation, BuildException error) {
        Duration wait;
        synchronized (table) {
            ImageTable.Entry e = table.get(name);
            if (e == null || !e.runs(token)) {
                return;
            }
            e.running = null;
            Instant now = clock.instant();
            e.failure = planner.failed(e.failure, key, generation, error.retryable(), now);
            wait = Duration.between(now, e.failure.nextAttempt());
            e.set(ImageState.Failed, ImagePlanner.failureMessage(error, e.failure, wait));
        }
        LOG.warn("build of image {} failed: {}", name, error.getMessage());
        if (error.retryable() && !loop.stopping()) {
            loop.pokeIn(wait);
        }
    }

    private ImportProgress progress(String name, Object token) {
        return new ImportProgress() {
            @Override
            public void layerDone(int index, int total, Descriptor layer, long fileBytesSoFar) {
                synchronized (table) {
                    ImageTable.Entry e = table.get(name);
                    if (e != null && e.runs(token)) {
                        e.message = "pulled layer " + (index + 1) + " of " + total;
                    }
                }
            }
        };
    }
}
