package dev.kcfs.agent;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ImageState;
import dev.kcfs.kube.EventRecorder;
import dev.kcfs.kube.LabelSelectors;
import dev.kcfs.kube.PullSecrets;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.ImagePolicy;
import dev.kcfs.publish.PublishedImages;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent (docs/architecture.md, steps 3-4 of 'From a ComposefsImage to a pod's files'): runs in the CSI plugin process, watches the ComposefsImages and
 * this node's Node, builds every image whose {@code spec.nodeSelector} matches the node's labels (and
 * the ones pods ask for, see {@link AgentPolicy#request}) into the node store, reports them in this node's
 * {@code ComposefsNode}, and drops and collects what is no longer wanted.
 *
 * <p>This class owns the threads and the watches and wires the parts: informer callbacks only poke
 * the agent loop (one thread) that plans builds ({@link ImagePlanner} decides, this class carries it
 * out), drops refs, runs GC ({@link NodeGc}) and writes the report ({@link StatusWriter}); builds run
 * on a pool of {@code buildConcurrency} threads ({@link Builds}). The per-image state is the
 * {@link ImageTable}, filled at start by {@link Recovery}; the CSI plugin asks {@link AgentPolicy}.
 * Every time, for plans, backoff, pacing and GC intervals, comes from the injected clock.
 *
 * <p>Image deletion: the operator holds its finalizer until no live node lists the image in its
 * {@code ComposefsNode} status. The agent stops wanting an image whose deletionTimestamp is set,
 * drops its ref once no volume uses it, and removes it from the report with the next write (a list
 * change is written at once), which releases the finalizer.
 */
public final class NodeAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeAgent.class);

    /** Coalesces bursts of changes into one status write. */
    private static final long COALESCE_MILLIS = 200;

    /**
     * @param nodeName            this node's Node name, also the ComposefsNode's name
     * @param buildConcurrency    builds running at once
     * @param cacheMaxBytes       store size (objects + images on disk) above which least recently used
     *                            unmounted images are evicted; 0 = no limit
     * @param plainHttpRegistries registries (host[:port]) spoken to over plain HTTP (loopback ones always are)
     * @param reportInterval      at most one status write per interval unless an image's state changes
     * @param gcInterval          how often GC runs when nothing asks for it sooner (it runs after every
     *                            build and every dropped image anyway)
     * @param firstRetry          wait before the first retry of a failed build; doubles up to maxRetry
     * @param onDemandKeep        how long an image built for a pod (not selected for the node) stays after its last use
     * @param registryStall       a blob download that receives nothing this long is dropped and resumed
     */
    public record Settings(
            String nodeName,
            int buildConcurrency,
            long cacheMaxBytes,
            Set<String> plainHttpRegistries,
            Duration reportInterval,
            Duration gcInterval,
            Duration firstRetry,
            Duration maxRetry,
            Duration onDemandKeep,
            Duration registryStall) {
        public Settings {
            Objects.requireNonNull(nodeName, "nodeName");
            if (buildConcurrency < 1) {
                throw new IllegalArgumentException(
                        "build concurrency must be at least 1, not " + buildConcurrency);
            }
            if (cacheMaxBytes < 0) {
                throw new IllegalArgumentException(
                        "the cache size limit must not be negative: " + cacheMaxBytes);
            }
            plainHttpRegistries = Set.copyOf(plainHttpRegistries);
        }

        public static Settings defaults(String nodeName) {
            return new Settings(
                    nodeName,
                    2,
                    0,
                    Set.of(),
                    Duration.ofSeconds(30),
                    Duration.ofHours(1),
                    Duration.ofSeconds(5),
                    Duration.ofMinutes(5),
                    Duration.ofMinutes(10),
                    Duration.ofSeconds(60));
        }

        public Settings withBuildConcurrency(int n) {
            return new Settings(
                    nodeName,
                    n,
                    cacheMaxBytes,
                    plainHttpRegistries,
                    reportInterval,
                    gcInterval,
                    firstRetry,
                    maxRetry,
                    onDemandKeep,
                    registryStall);
        }

        public Settings withCacheMaxBytes(long max) {
            return new Settings(
                    nodeName,
                    buildConcurrency,
                    max,
                    plainHttpRegistries,
                    reportInterval,
                    gcInterval,
                    firstRetry,
                    maxRetry,
                    onDemandKeep,
                    registryStall);
        }

        public Settings withPlainHttpRegistries(Set<String> registries) {
            return new Settings(
                    nodeName,
                    buildConcurrency,
                    cacheMaxBytes,
                    registries,
                    reportInterval,
                    gcInterval,
                    firstRetry,
                    maxRetry,
                    onDemandKeep,
                    registryStall);
        }

        public Settings withIntervals(Duration report, Duration gc, Duration first, Duration max) {
            return new Settings(
                    nodeName,
                    buildConcurrency,
                    cacheMaxBytes,
                    plainHttpRegistries,
                    report,
                    gc,
                    first,
                    max,
                    onDemandKeep,
                    registryStall);
        }
    }

    private final KubernetesClient client;
    private final Store store;
    private final Settings settings;
    private final Clock clock;
    private final BuildRecords records;
    private final ImageBuilder builder;
    private final ImagePlanner planner;
    private final StatusWriter status;
    private final NodeGc gc;
    private final ImageTable table;
    private final Builds builds;
    private final ScheduledExecutorService loop;
    private final ExecutorService buildPool;
    private final AtomicBoolean reconcileQueued = new AtomicBoolean();
    private volatile PublishedImages volumes = PublishedImages.NONE;
    private volatile AgentMetrics metrics;
    private final EventRecorder events;
    private volatile boolean closed;
    private volatile boolean started;
    private SharedIndexInformer<ComposefsImage> images;
    private SharedIndexInformer<Node> nodes;

    /** Planning passes finished with both watches synced: what tests wait on instead of time. */
    private final AtomicLong planningPasses = new AtomicLong();

    // loop-thread state
    private Instant startedAt;
    private Instant lastSyncWarning = Instant.MIN;

    public NodeAgent(KubernetesClient client, Store store, Settings settings, Clock clock)
            throws IOException {
        this.client = client;
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.records = new BuildRecords(store.root());
        this.builder =
                new ImageBuilder(
                        store,
                        new PullSecrets(client, "the kcfs node agent"),
                        settings.plainHttpRegistries(),
                        settings.registryStall());
        this.status =
                new StatusWriter(
                        client, settings.nodeName(), store, settings.reportInterval(), clock);
        this.gc =
                new NodeGc(
                        store,
                        records,
                        settings.nodeName(),
                        settings.cacheMaxBytes(),
                        settings.gcInterval(),
                        clock);
        this.planner = new ImagePlanner(settings);
        this.table = new ImageTable(planner.evictedMessage());
        this.policy = new AgentPolicy(settings.nodeName(), clusterView, tableView);
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "kcfs-agent"));
        AtomicInteger n = new AtomicInteger();
        this.buildPool =
                Executors.newFixedThreadPool(
                        settings.buildConcurrency(),
                        r -> daemon(r, "kcfs-build-" + n.incrementAndGet()));
        this.metrics =
                new AgentMetrics(
                        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                        table::count);
        this.events =
                new EventRecorder(
                        client,
                        EventRecorder.NAMESPACE,
                        "kcfs-node",
                        settings.nodeName(),
                        clock,
                        type -> metrics.eventWritten(type));
        this.builds =
                new Builds(
                        table,
                        builder,
                        records,
                        planner,
                        status,
                        gc,
                        clock,
                        buildPool,
                        () -> metrics,
                        new Builds.Loop() {
                            @Override
                            public boolean stopping() {
                                return closed;
                            }

                            @Override
                            public void poke() {
                                NodeAgent.this.poke();
                            }

                            @Override
                            public void pokeIn(Duration wait) {
                                loop.schedule(
                                        NodeAgent.this::poke,
                                        wait.toMillis(),
                                        TimeUnit.MILLISECONDS);
                            }

                            @Override
                            public void report() {
                                scheduleReport();
                            }

                            @Override
                            public void built(String imageName, String message) {
                                ComposefsImage ci =
                                        images == null
                                                ? null
                                                : images.getStore().getByKey(imageName);
                                if (ci != null) {
                                    events.normal(
                                            ci,
                                            "Built",
                                            "node " + settings.nodeName() + " " + message);
                                }
                            }
                        });
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Loads what the store holds, starts the watches (without waiting for them: the CSI plugin
     * serves meanwhile and asks again) and the loop.
     *
     * @param publishedVolumes the CSI plugin's published volumes, for mount counts and what GC must keep
     */
    public synchronized void start(PublishedImages publishedVolumes) throws IOException {
        start(publishedVolumes, null);
    }

    /** {@link #start(PublishedImages)}, registering the agent's metrics in {@code registry} (the CSI plugin's). */
    public synchronized void start(
            PublishedImages publishedVolumes, io.micrometer.core.instrument.MeterRegistry registry)
            throws IOException {
        if (registry != null) {
            metrics = new AgentMetrics(registry, table::count);
        }
        if (started) {
            throw new IllegalStateException("the node agent is already started");
        }
        started = true;
        startedAt = clock.instant();
        this.volumes = publishedVolumes;
        int recovered = Recovery.load(store, records, table);
        LOG.info(
                "node agent for node {}: {} image(s) in store {}; watching ComposefsImages",
                settings.nodeName(),
                recovered,
                store.root());
        ResourceEventHandler<ComposefsImage> onImage =
                new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(ComposefsImage obj) {
                        poke();
                    }

                    @Override
                    public void onUpdate(ComposefsImage before, ComposefsImage now) {
                        if (relevantChange(before, now)) {
                            poke();
                        }
                    }

                    @Override
                    public void onDelete(ComposefsImage obj, boolean deletedFinalStateUnknown) {
                        poke();
                    }
                };
        ResourceEventHandler<Node> onNode =
                new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(Node obj) {
                        poke();
                    }

                    @Override
                    public void onUpdate(Node before, Node now) {
                        // heartbeats and conditions change often; only labels decide what this node
                        // builds
                        if (!Objects.equals(
                                before.getMetadata().getLabels(), now.getMetadata().getLabels())) {
                            poke();
                        }
                    }

                    @Override
                    public void onDelete(Node obj, boolean deletedFinalStateUnknown) {
                        poke();
                    }
                };
        images = client.resources(ComposefsImage.class).runnableInformer(0);
        images.addEventHandler(onImage);
        nodes = client.nodes().withName(settings.nodeName()).runnableInformer(0);
        nodes.addEventHandler(onNode);
        // not waited for: the CSI plugin serves meanwhile (namespace checks answer UNAVAILABLE
        // until synced),
        // and fabric8 keeps retrying the watches in the background
        images.start().whenComplete((v, e) -> watchStarted("ComposefsImages", e));
        nodes.start().whenComplete((v, e) -> watchStarted("Node " + settings.nodeName(), e));
        // a planning pass and a report every reportInterval notice what no watch reports:
        // unpublished
        // volumes (an image kept only while mounted can go), expired on-demand images, retry times
        long report = settings.reportInterval().toMillis();
        loop.scheduleWithFixedDelay(
                () ->
                        guarded(
                                "periodic pass",
                                () -> {
                                    reconcile();
                                    report();
                                }),
                report,
                report,
                TimeUnit.MILLISECONDS);
        gc.request(); // leftovers of a previous run
        poke();
    }

    private void watchStarted(String what, Throwable error) {
        if (error == null) {
            LOG.info("watching {}", what);
            poke();
        } else if (!closed) {
            LOG.warn(
                    "cannot list {} from the API server yet ({}); retrying. Check --kubeconfig or the service"
                            + " account and its RBAC (get, list, watch)",
                    what,
                    error.getMessage());
        }
    }

    /** Only what changes the build plan: spec, pinning, deletion. The operator's counts change often. */
    private static boolean relevantChange(ComposefsImage before, ComposefsImage now) {
        return !Objects.equals(
                        before.getMetadata().getGeneration(), now.getMetadata().getGeneration())
                || !Objects.equals(
                        before.getMetadata().getDeletionTimestamp(),
                        now.getMetadata().getDeletionTimestamp())
                || !Objects.equals(resolved(before), resolved(now));
    }

    private static String resolved(ComposefsImage ci) {
        return ci.getStatus() == null ? null : ci.getStatus().getResolvedImage();
    }

    /** Whether both watches have listed once. */
    public boolean synced() {
        return images != null && nodes != null && images.hasSynced() && nodes.hasSynced();
    }

    /** Planning passes finished so far (each poke and each periodic pass makes one). */
    public long planningPasses() {
        return planningPasses.get();
    }

    /** Whether this agent's watch has delivered ComposefsImage {@code imageName}. */
    public boolean sees(String imageName) {
        return images != null
                && images.getStore().list().stream()
                        .anyMatch(ci -> imageName.equals(ci.getMetadata().getName()));
    }

    /** Status writes sent so far. */
    public long statusWrites() {
        return status.writes();
    }

    /** Finished GC runs. */
    public int gcRuns() {
        return gc.runs();
    }

    /** Asks the loop for a planning pass (coalesced). */
    public void poke() {
        if (!closed && reconcileQueued.compareAndSet(false, true)) {
            try {
                loop.execute(
                        () -> {
                            reconcileQueued.set(false);
                            guarded("planning pass", this::reconcile);
                        });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    /** Asks for a GC pass soon (tests, and after an image is dropped). */
    public void requestGc() {
        loop.execute(
                () ->
                        guarded(
                                "gc",
                                () -> {
                                    gc.request();
                                    reconcile();
                                }));
    }

    private void guarded(String what, Runnable body) {
        if (closed) {
            return;
        }
        try {
            body.run();
        } catch (RuntimeException e) {
            LOG.warn("node agent {} failed (next pass retries): {}", what, e.toString(), e);
        }
    }

    // ---------------------------------------------------------------- planning

    private void reconcile() {
        if (closed || !synced()) {
            Instant now = clock.instant();
            Duration waited = Duration.between(startedAt, now);
            if (!closed
                    && waited.toSeconds() > 30
                    && now.isAfter(lastSyncWarning.plus(Duration.ofMinutes(1)))) {
                lastSyncWarning = now;
                LOG.warn(
                        "node {} has not listed the ComposefsImages ({}) and its Node ({}) from the API server {} s after"
                                + " starting; nothing is built until it has. Check --kubeconfig or the service account and its RBAC",
                        settings.nodeName(),
                        images != null && images.hasSynced() ? "done" : "not yet",
                        nodes != null && nodes.hasSynced() ? "done" : "not yet",
                        waited.toSeconds());
            }
            return;
        }
        Instant now = clock.instant();
        Node node = nodes.getStore().getByKey(settings.nodeName());
        Map<String, String> labels = node == null ? Map.of() : node.getMetadata().getLabels();
        Map<String, Integer> mounts = mountsByImage();
        Set<Digest> mountRecords = gc.mountRecords();
        List<String> drops = new ArrayList<>();
        List<String> unrefs = new ArrayList<>();
        boolean changed = false;
        synchronized (table) {
            Set<String> wanted = new HashSet<>();
            for (ComposefsImage ci : images.getStore().list()) {
                String name = ci.getMetadata().getName();
                if (ci.getMetadata().getDeletionTimestamp() != null || ci.getSpec() == null) {
                    continue;
                }
                ImageTable.Entry e = table.get(name);
                boolean selected = LabelSelectors.matches(ci.getSpec().getNodeSelector(), labels);
                boolean onDemand =
                        e != null
                                && ImagePlanner.onDemandActive(
                                        e.requestedAt, e.lastUsed, now, settings.onDemandKeep());
                if (!selected && !onDemand) {
                    continue;
                }
                wanted.add(name);
                if (e == null) {
                    e = table.add(name);
                    changed = true;
                }
                long generation =
                        ci.getMetadata().getGeneration() == null
                                ? 0
                                : ci.getMetadata().getGeneration();
                ImagePlanner.Wanted w =
                        new ImagePlanner.Wanted(
                                name,
                                BuildKey.of(ci),
                                generation,
                                ci.getSpec().getExpectedDigest(),
                                onDemand);
                ImagePlanner.Plan plan = planner.wanted(w, e.have(), now);
                if (plan.cancelBuild()) {
                    LOG.info(
                            "image {} changed to {} while building {}; starting over",
                            name,
                            w.key(),
                            e.running.key());
                }
                changed |= apply(e, plan, ci.getSpec(), unrefs);
            }
            for (ImageTable.Entry e : table.all()) {
                if (wanted.contains(e.name)) {
                    continue;
                }
                boolean recorded = e.built != null && mountRecords.contains(e.built.digest());
                ImagePlanner.Plan plan =
                        planner.unwanted(e.have(), mounts.getOrDefault(e.name, 0), recorded);
                changed |= plan.cancelBuild(); // a report without the build is a change
                if (plan.action() instanceof ImagePlanner.Action.Drop) {
                    e.cancel();
                    drops.add(e.name);
                } else {
                    changed |= apply(e, plan, null, unrefs);
                }
            }
        }
        for (String name : unrefs) {
            unref(name, mounts, mountRecords);
        }
        for (String name : drops) {
            try {
                store.removeRef(name);
                records.remove(name);
                LOG.info(
                        "dropped image {}: no longer wanted on node {} and not mounted",
                        name,
                        settings.nodeName());
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn("cannot drop image {} (retried next pass): {}", name, e.getMessage());
                continue;
            }
            synchronized (table) {
                table.remove(name);
            }
            changed = true;
            gc.request();
        }
        if (changed) {
            status.storeChanged();
        }
        if (changed || status.nothingWritten()) {
            // the first report at once: the operator counts only nodes that have a ComposefsNode
            scheduleReport();
        }
        if (gc.due()) {
            gc.run(mounts, table)
                    .ifPresent(
                            freed -> {
                                metrics.gc(freed);
                                status.storeChanged();
                                scheduleReport();
                            });
        }
        planningPasses.incrementAndGet();
    }

    /**
     * Takes the ref of a built image that must not be mounted any more (its digest is not the expected
     * one); volumes already using it keep it until they go.
     */
    private void unref(String name, Map<String, Integer> mounts, Set<Digest> mountRecords) {
        Digest digest;
        synchronized (table) {
            ImageTable.Entry e = table.get(name);
            if (e == null || e.built == null) {
                return;
            }
            digest = e.built.digest();
        }
        if (mounts.containsKey(name) || mountRecords.contains(digest)) {
            return;
        }
        try {
            store.removeRef(name);
            records.remove(name);
        } catch (IOException e) {
            LOG.warn(
                    "cannot remove the ref of image {} (retried next pass): {}",
                    name,
                    e.getMessage());
            return;
        }
        synchronized (table) {
            ImageTable.Entry e = table.get(name);
            if (e != null && e.built != null && e.built.digest().equals(digest)) {
                e.built = null;
            }
        }
        gc.request();
    }

    /** Carries out the planner's plan for one image; returns whether its reported state changed. */
    private boolean apply(
            ImageTable.Entry e,
            ImagePlanner.Plan plan,
            ComposefsImageSpec spec,
            List<String> unrefs) {
        if (plan.cancelBuild()) {
            e.cancel();
        }
        ImagePlanner.Action action = plan.action();
        if (action instanceof ImagePlanner.Action.Report r) {
            return e.set(r.state(), r.message());
        }
        if (action instanceof ImagePlanner.Action.Reject r) {
            ImagePlanner.Failure f = e.failure;
            e.failure =
                    new ImagePlanner.Failure(
                            r.key(),
                            r.generation(),
                            false,
                            f == null ? 0 : f.attempts(),
                            f == null ? Instant.MIN : f.nextAttempt());
            unrefs.add(e.name);
            return e.set(ImageState.Failed, r.message());
        }
        if (action instanceof ImagePlanner.Action.RetryAt r) {
            long wait = Math.max(1, Duration.between(clock.instant(), r.at()).toMillis());
            loop.schedule(this::poke, wait, TimeUnit.MILLISECONDS);
            return false;
        }
        if (action instanceof ImagePlanner.Action.Build b) {
            if (b.resetBackoff()) {
                e.failure = null;
            }
            builds.start(e, spec, b.key(), b.generation());
            return e.set(ImageState.Pending, b.message());
        }
        return false; // Keep (a Drop is carried out by the caller)
    }

    // ---------------------------------------------------------------- CSI hooks

    /** What the cluster says about publishing each image, answered from the watch cache ({@link AgentPolicy}). */
    public ImagePolicy policy(VerityMode nodeMode) {
        return policy.imagePolicy(nodeMode);
    }

    /** The watch cache as {@link AgentPolicy} reads it. */
    private final AgentPolicy.Cluster clusterView =
            new AgentPolicy.Cluster() {
                @Override
                public boolean synced() {
                    return NodeAgent.this.synced();
                }

                @Override
                public ComposefsImage image(String imageName) {
                    return images.getStore().getByKey(imageName);
                }
            };

    /** The image table as {@link AgentPolicy} touches it. */
    private final AgentPolicy.Table tableView =
            new AgentPolicy.Table() {
                @Override
                public boolean stopping() {
                    return closed;
                }

                @Override
                public AgentPolicy.Demand demand(String imageName, BuildKey key) {
                    AgentPolicy.Demand d = table.demand(imageName, key, clock.instant());
                    poke();
                    return d;
                }

                /** Every publish counts as a use (for lastUsed and LRU eviction). */
                @Override
                public void used(String imageName) {
                    table.used(imageName, clock.instant());
                    scheduleReport();
                }
            };

    private final AgentPolicy policy;

    // ---------------------------------------------------------------- GC

    private Map<String, Integer> mountsByImage() {
        return volumes.volumesByImage();
    }

    // ---------------------------------------------------------------- report

    /** A status write soon, coalescing bursts; {@link #report} applies the rate limit. */
    private void scheduleReport() {
        if (closed) {
            return;
        }
        try {
            loop.schedule(
                    () -> guarded("report", this::report), COALESCE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** Writes the status when it changed, as {@link StatusWriter} paces it. */
    private void report() {
        if (closed || !synced()) {
            return;
        }
        StatusWriter.Outcome outcome = status.report(table.reports(mountsByImage()), gc.lastRun());
        if (outcome.written()) {
            metrics.statusWritten();
        }
        if (outcome.again() != null) {
            loop.schedule(
                    () -> guarded("report", this::report),
                    outcome.again().toNanos(),
                    TimeUnit.NANOSECONDS);
        }
    }

    // ---------------------------------------------------------------- shutdown

    /**
     * Stops watching, building and reporting. Running builds are interrupted; what they wrote is
     * either committed and referenced, or garbage the next GC takes. The last report stays as is.
     */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        if (images != null) {
            images.stop();
        }
        if (nodes != null) {
            nodes.stop();
        }
        buildPool.shutdownNow();
        loop.shutdownNow();
        if (!buildPool.awaitTermination(10, TimeUnit.SECONDS)) {
            LOG.warn(
                    "builds did not stop within 10 s; they finish in the background and leave nothing referenced");
        }
        loop.awaitTermination(5, TimeUnit.SECONDS);
    }
}
