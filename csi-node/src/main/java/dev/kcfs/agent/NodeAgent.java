package dev.kcfs.agent;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.LabelSelectors;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.PullSecrets;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.ImportProgress;
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
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent (ARCHITECTURE.md 4): runs in the CSI plugin process, watches the ComposefsImages and
 * this node's Node, builds every image whose {@code spec.nodeSelector} matches the node's labels (and
 * the ones pods ask for, see {@link AgentPolicy#request}) into the node store, reports them in this node's
 * {@code ComposefsNode}, and drops and collects what is no longer wanted.
 *
 * <p>Threads: informer callbacks only poke the agent loop (one thread) that plans builds
 * ({@link ImagePlanner} decides, this class carries it out), drops refs, runs GC ({@link NodeGc})
 * and writes the report ({@link StatusWriter}); builds run on a pool of {@code buildConcurrency}
 * threads. The per-image state is guarded by this object's monitor; no store or API I/O happens
 * under it. Every time, for plans, backoff, pacing and GC intervals, comes from the injected clock.
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
    public record Settings(String nodeName, int buildConcurrency, long cacheMaxBytes, Set<String> plainHttpRegistries,
                           Duration reportInterval, Duration gcInterval, Duration firstRetry, Duration maxRetry,
                           Duration onDemandKeep, Duration registryStall) {
        public Settings {
            Objects.requireNonNull(nodeName, "nodeName");
            if (buildConcurrency < 1) {
                throw new IllegalArgumentException("build concurrency must be at least 1, not " + buildConcurrency);
            }
            if (cacheMaxBytes < 0) {
                throw new IllegalArgumentException("the cache size limit must not be negative: " + cacheMaxBytes);
            }
            plainHttpRegistries = Set.copyOf(plainHttpRegistries);
        }

        public static Settings defaults(String nodeName) {
            return new Settings(nodeName, 2, 0, Set.of(), Duration.ofSeconds(30), Duration.ofHours(1),
                    Duration.ofSeconds(5), Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofSeconds(60));
        }

        public Settings withBuildConcurrency(int n) {
            return new Settings(nodeName, n, cacheMaxBytes, plainHttpRegistries, reportInterval, gcInterval, firstRetry,
                    maxRetry, onDemandKeep, registryStall);
        }

        public Settings withCacheMaxBytes(long max) {
            return new Settings(nodeName, buildConcurrency, max, plainHttpRegistries, reportInterval, gcInterval,
                    firstRetry, maxRetry, onDemandKeep, registryStall);
        }

        public Settings withPlainHttpRegistries(Set<String> registries) {
            return new Settings(nodeName, buildConcurrency, cacheMaxBytes, registries, reportInterval, gcInterval,
                    firstRetry, maxRetry, onDemandKeep, registryStall);
        }

        public Settings withIntervals(Duration report, Duration gc, Duration first, Duration max) {
            return new Settings(nodeName, buildConcurrency, cacheMaxBytes, plainHttpRegistries, report, gc, first, max,
                    onDemandKeep, registryStall);
        }
    }

    /** The build of an image running (or queued) now: its key, the token that tells it its result still counts, the task. */
    private record Running(BuildKey key, Object token, Future<?> task) {
    }

    /** The state of one image on this node. Guarded by the agent's monitor. */
    private static final class Entry {
        final String name;
        ImageState state = ImageState.Pending;
        String message;
        /** What the ref points at, when the agent knows how it was built. */
        BuildRecords.Record built;
        /** The running or queued build, or null. */
        Running running;
        /** The last failed build, or null. */
        ImagePlanner.Failure failure;
        Instant lastUsed;
        Instant requestedAt;
        boolean evicted;

        Entry(String name) {
            this.name = name;
        }

        /** Whether the build holding {@code token} is still this image's current build. */
        boolean runs(Object token) {
            return running != null && running.token() == token;
        }

        ImagePlanner.Have have() {
            return new ImagePlanner.Have(state, built, running == null ? null : running.key(), failure, evicted);
        }

        Instant lruTime() {
            if (lastUsed != null) {
                return lastUsed;
            }
            return built != null ? built.builtAt() : Instant.MIN;
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
    private final Map<String, Entry> entries = new HashMap<>();
    private final ScheduledExecutorService loop;
    private final ExecutorService builds;
    private final AtomicBoolean reconcileQueued = new AtomicBoolean();
    private volatile PublishedImages volumes = PublishedImages.NONE;
    private volatile AgentMetrics metrics;
    private volatile boolean closed;
    private volatile boolean started;
    private SharedIndexInformer<ComposefsImage> images;
    private SharedIndexInformer<Node> nodes;

    // loop-thread state
    private Instant startedAt;
    private Instant lastSyncWarning = Instant.MIN;

    public NodeAgent(KubernetesClient client, Store store, Settings settings, Clock clock) throws IOException {
        this.client = client;
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.records = new BuildRecords(store.root());
        this.builder = new ImageBuilder(store, new PullSecrets(client, "the kcfs node agent"), settings.plainHttpRegistries(),
                settings.registryStall());
        this.status = new StatusWriter(client, settings.nodeName(), store, settings.reportInterval(), clock);
        this.gc = new NodeGc(store, records, settings.nodeName(), settings.cacheMaxBytes(), settings.gcInterval(), clock);
        this.planner = new ImagePlanner(settings);
        this.policy = new AgentPolicy(settings.nodeName(), clusterView, tableView);
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "kcfs-agent"));
        AtomicInteger n = new AtomicInteger();
        this.builds = Executors.newFixedThreadPool(settings.buildConcurrency(),
                r -> daemon(r, "kcfs-build-" + n.incrementAndGet()));
        this.metrics = new AgentMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), this::count);
    }

    private synchronized int count(ImageState state) {
        return (int) entries.values().stream().filter(e -> e.state == state).count();
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
    public synchronized void start(PublishedImages publishedVolumes,
                                   io.micrometer.core.instrument.MeterRegistry registry) throws IOException {
        if (registry != null) {
            metrics = new AgentMetrics(registry, this::count);
        }
        if (started) {
            throw new IllegalStateException("the node agent is already started");
        }
        started = true;
        startedAt = clock.instant();
        this.volumes = publishedVolumes;
        Map<String, BuildRecords.Record> saved = records.loadAll();
        for (Map.Entry<String, Digest> ref : store.refs().entrySet()) {
            String name = ref.getKey();
            if (name.startsWith(ImageBuilder.BUILDING_PREFIX)) {
                continue; // an import that did not finish: GC drops its ref
            }
            Entry e = new Entry(name);
            BuildRecords.Record r = saved.get(name);
            if (r != null && r.digest().equals(ref.getValue()) && store.hasImage(r.digest())) {
                e.built = r;
                e.state = ImageState.Ready;
                e.lastUsed = r.lastUsed();
            } else {
                e.message = "found in the node store without a build record; rebuilt if still wanted";
            }
            entries.put(name, e);
        }
        LOG.info("node agent for node {}: {} image(s) in store {}; watching ComposefsImages", settings.nodeName(),
                entries.size(), store.root());
        ResourceEventHandler<ComposefsImage> onImage = new ResourceEventHandler<>() {
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
        ResourceEventHandler<Node> onNode = new ResourceEventHandler<>() {
            @Override
            public void onAdd(Node obj) {
                poke();
            }

            @Override
            public void onUpdate(Node before, Node now) {
                // heartbeats and conditions change often; only labels decide what this node builds
                if (!Objects.equals(before.getMetadata().getLabels(), now.getMetadata().getLabels())) {
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
        // not waited for: the CSI plugin serves meanwhile (namespace checks answer UNAVAILABLE until synced),
        // and fabric8 keeps retrying the watches in the background
        images.start().whenComplete((v, e) -> watchStarted("ComposefsImages", e));
        nodes.start().whenComplete((v, e) -> watchStarted("Node " + settings.nodeName(), e));
        // a planning pass and a report every reportInterval notice what no watch reports: unpublished
        // volumes (an image kept only while mounted can go), expired on-demand images, retry times
        long report = settings.reportInterval().toMillis();
        loop.scheduleWithFixedDelay(() -> guarded("periodic pass", () -> {
            reconcile();
            report();
        }), report, report, TimeUnit.MILLISECONDS);
        gc.request(); // leftovers of a previous run
        poke();
    }

    private void watchStarted(String what, Throwable error) {
        if (error == null) {
            LOG.info("watching {}", what);
            poke();
        } else if (!closed) {
            LOG.warn("cannot list {} from the API server yet ({}); retrying. Check --kubeconfig or the service"
                    + " account and its RBAC (get, list, watch)", what, error.getMessage());
        }
    }

    /** Only what changes the build plan: spec, pinning, deletion. The operator's counts change often. */
    private static boolean relevantChange(ComposefsImage before, ComposefsImage now) {
        return !Objects.equals(before.getMetadata().getGeneration(), now.getMetadata().getGeneration())
                || !Objects.equals(before.getMetadata().getDeletionTimestamp(), now.getMetadata().getDeletionTimestamp())
                || !Objects.equals(resolved(before), resolved(now));
    }

    private static String resolved(ComposefsImage ci) {
        return ci.getStatus() == null ? null : ci.getStatus().getResolvedImage();
    }

    /** Whether both watches have listed once. */
    public boolean synced() {
        return images != null && nodes != null && images.hasSynced() && nodes.hasSynced();
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
                loop.execute(() -> {
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
        loop.execute(() -> guarded("gc", () -> {
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
            if (!closed && waited.toSeconds() > 30 && now.isAfter(lastSyncWarning.plus(Duration.ofMinutes(1)))) {
                lastSyncWarning = now;
                LOG.warn("node {} has not listed the ComposefsImages ({}) and its Node ({}) from the API server {} s after"
                        + " starting; nothing is built until it has. Check --kubeconfig or the service account and its RBAC",
                        settings.nodeName(), images != null && images.hasSynced() ? "done" : "not yet",
                        nodes != null && nodes.hasSynced() ? "done" : "not yet", waited.toSeconds());
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
        synchronized (this) {
            Set<String> wanted = new HashSet<>();
            for (ComposefsImage ci : images.getStore().list()) {
                String name = ci.getMetadata().getName();
                if (ci.getMetadata().getDeletionTimestamp() != null || ci.getSpec() == null) {
                    continue;
                }
                Entry e = entries.get(name);
                boolean selected = LabelSelectors.matches(ci.getSpec().getNodeSelector(), labels);
                boolean onDemand = e != null
                        && ImagePlanner.onDemandActive(e.requestedAt, e.lastUsed, now, settings.onDemandKeep());
                if (!selected && !onDemand) {
                    continue;
                }
                wanted.add(name);
                if (e == null) {
                    e = new Entry(name);
                    entries.put(name, e);
                    changed = true;
                }
                long generation = ci.getMetadata().getGeneration() == null ? 0 : ci.getMetadata().getGeneration();
                ImagePlanner.Wanted w = new ImagePlanner.Wanted(name, BuildKey.of(ci), generation,
                        ci.getSpec().getExpectedDigest(), onDemand);
                ImagePlanner.Plan plan = planner.wanted(w, e.have(), now);
                if (plan.cancelBuild()) {
                    LOG.info("image {} changed to {} while building {}; starting over", name, w.key(), e.running.key());
                }
                changed |= apply(e, plan, ci.getSpec(), unrefs);
            }
            for (Entry e : entries.values()) {
                if (wanted.contains(e.name)) {
                    continue;
                }
                boolean recorded = e.built != null && mountRecords.contains(e.built.digest());
                ImagePlanner.Plan plan = planner.unwanted(e.have(), mounts.getOrDefault(e.name, 0), recorded);
                changed |= plan.cancelBuild(); // a report without the build is a change
                if (plan.action() instanceof ImagePlanner.Action.Drop) {
                    cancel(e);
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
                LOG.info("dropped image {}: no longer wanted on node {} and not mounted", name, settings.nodeName());
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn("cannot drop image {} (retried next pass): {}", name, e.getMessage());
                continue;
            }
            synchronized (this) {
                entries.remove(name);
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
            gc.run(mounts, gcView).ifPresent(freed -> {
                metrics.gc(freed);
                status.storeChanged();
                scheduleReport();
            });
        }
    }

    /**
     * Takes the ref of a built image that must not be mounted any more (its digest is not the expected
     * one); volumes already using it keep it until they go.
     */
    private void unref(String name, Map<String, Integer> mounts, Set<Digest> mountRecords) {
        Digest digest;
        synchronized (this) {
            Entry e = entries.get(name);
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
            LOG.warn("cannot remove the ref of image {} (retried next pass): {}", name, e.getMessage());
            return;
        }
        synchronized (this) {
            Entry e = entries.get(name);
            if (e != null && e.built != null && e.built.digest().equals(digest)) {
                e.built = null;
            }
        }
        gc.request();
    }

    /** Carries out the planner's plan for one image; returns whether its reported state changed. */
    private boolean apply(Entry e, ImagePlanner.Plan plan, ComposefsImageSpec spec, List<String> unrefs) {
        if (plan.cancelBuild()) {
            cancel(e);
        }
        ImagePlanner.Action action = plan.action();
        if (action instanceof ImagePlanner.Action.Report r) {
            return set(e, r.state(), r.message());
        }
        if (action instanceof ImagePlanner.Action.Reject r) {
            ImagePlanner.Failure f = e.failure;
            e.failure = new ImagePlanner.Failure(r.key(), r.generation(), false, f == null ? 0 : f.attempts(),
                    f == null ? Instant.MIN : f.nextAttempt());
            unrefs.add(e.name);
            return set(e, ImageState.Failed, r.message());
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
            startBuild(e, spec, b.key(), b.generation());
            return set(e, ImageState.Pending, b.message());
        }
        return false; // Keep (a Drop is carried out by the caller)
    }

    private void startBuild(Entry e, ComposefsImageSpec spec, BuildKey key, long generation) {
        String name = e.name;
        Object token = new Object();
        e.running = new Running(key, token, builds.submit(() -> runBuild(name, spec, key, generation, token)));
    }

    private void cancel(Entry e) {
        if (e.running != null) {
            e.running.task().cancel(true);
        }
        e.running = null;
    }

    /** Sets the reported state; returns whether it changed. */
    private boolean set(Entry e, ImageState state, String message) {
        boolean changed = e.state != state || !Objects.equals(e.message, message);
        e.state = state;
        e.message = message;
        return changed;
    }

    private synchronized boolean current(String name, Object token) {
        Entry e = entries.get(name);
        return !closed && e != null && e.runs(token);
    }

    // ---------------------------------------------------------------- building

    private void runBuild(String name, ComposefsImageSpec spec, BuildKey key, long generation, Object token) {
        synchronized (this) {
            Entry e = entries.get(name);
            if (closed || e == null || !e.runs(token)) {
                return;
            }
            set(e, ImageState.Building, "pulling " + key.image());
        }
        scheduleReport();
        Instant t0 = clock.instant();
        try {
            ImageBuilder.Built b = builder.build(name, spec, key, () -> current(name, token), progress(name, token));
            Instant now = clock.instant();
            BuildRecords.Record r;
            synchronized (this) {
                Entry e = entries.get(name);
                r = new BuildRecords.Record(name, key, b.digest(), b.files(), b.objects(), b.bytes(), now,
                        e == null ? null : e.lastUsed);
            }
            records.save(r);
            synchronized (this) {
                Entry e = entries.get(name);
                if (e != null && e.runs(token)) {
                    e.built = r;
                    e.running = null;
                    e.failure = null;
                    e.evicted = false;
                    set(e, ImageState.Ready, null);
                }
            }
            Duration took = Duration.between(t0, clock.instant());
            metrics.built(took, true, b.layerBytes());
            LOG.info("built image {} from {} in {} ms: composefs digest {}, {} files, {} objects", name, key.image(),
                    took.toMillis(), b.digest().hex(), b.files(), b.objects());
        } catch (InterruptedException e) {
            LOG.info("build of image {} stopped: {}", name, e.getMessage());
            synchronized (this) {
                Entry en = entries.get(name);
                if (en != null && en.runs(token)) {
                    en.running = null;
                    set(en, ImageState.Pending, "build interrupted; starting again");
                }
            }
        } catch (BuildException | IOException | RuntimeException e) {
            BuildException be = e instanceof BuildException b ? b
                    : new BuildException("building ComposefsImage " + name + " failed: " + e, true, e);
            metrics.built(Duration.between(t0, clock.instant()), false, 0);
            failed(name, token, key, generation, be);
        } catch (OutOfMemoryError | StackOverflowError e) {
            // this process also serves CSI: what the failed build allocated is garbage once we are here, so
            // the build fails (and is reported, with backoff) instead of taking the thread, or the node, down
            String what = e instanceof OutOfMemoryError ? "ran out of memory" : "nested too deeply";
            metrics.built(Duration.between(t0, clock.instant()), false, 0);
            failed(name, token, key, generation, new BuildException("building ComposefsImage " + name + " from " + key.image()
                    + " " + what + " (" + e.getMessage() + "); give kcfs-node more memory (node.extraJavaOptions -Xmx)"
                    + " if the image is that large", true, e));
        }
        status.storeChanged();
        gc.request(); // a finished import may leave unreferenced objects (whiteouts), a failed one a temporary ref
        scheduleReport();
        poke();
    }

    private void failed(String name, Object token, BuildKey key, long generation, BuildException error) {
        Duration wait;
        synchronized (this) {
            Entry e = entries.get(name);
            if (e == null || !e.runs(token)) {
                return;
            }
            e.running = null;
            Instant now = clock.instant();
            e.failure = planner.failed(e.failure, key, generation, error.retryable(), now);
            wait = Duration.between(now, e.failure.nextAttempt());
            set(e, ImageState.Failed, ImagePlanner.failureMessage(error, e.failure, wait));
        }
        LOG.warn("build of image {} failed: {}", name, error.getMessage());
        if (error.retryable() && !closed) {
            loop.schedule(this::poke, wait.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private ImportProgress progress(String name, Object token) {
        return new ImportProgress() {
            @Override
            public void layerDone(int index, int total, Descriptor layer, long fileBytesSoFar) {
                synchronized (NodeAgent.this) {
                    Entry e = entries.get(name);
                    if (e != null && e.runs(token)) {
                        e.message = "pulled layer " + (index + 1) + " of " + total;
                    }
                }
            }
        };
    }

    // ---------------------------------------------------------------- CSI hooks

    /** What the cluster says about publishing each image, answered from the watch cache ({@link AgentPolicy}). */
    public ImagePolicy policy(VerityMode nodeMode) {
        return policy.imagePolicy(nodeMode);
    }

    /** The watch cache as {@link AgentPolicy} reads it. */
    private final AgentPolicy.Cluster clusterView = new AgentPolicy.Cluster() {
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
    private final AgentPolicy.Table tableView = new AgentPolicy.Table() {
        @Override
        public boolean stopping() {
            return closed;
        }

        @Override
        public AgentPolicy.Demand demand(String imageName, BuildKey key) {
            AgentPolicy.Demand d;
            synchronized (NodeAgent.this) {
                Entry e = entries.computeIfAbsent(imageName, Entry::new);
                e.requestedAt = clock.instant();
                e.evicted = false;
                if (e.running != null) {
                    d = new AgentPolicy.Demand(AgentPolicy.Demand.Kind.BUILDING, e.message);
                } else if (e.state == ImageState.Failed) {
                    d = new AgentPolicy.Demand(AgentPolicy.Demand.Kind.FAILED, e.message);
                    if (e.failure != null) {
                        e.failure = e.failure.retryNow(); // a pod waiting for it is worth an early retry
                    }
                } else {
                    if (key != null) {
                        e.built = null;
                    }
                    d = new AgentPolicy.Demand(AgentPolicy.Demand.Kind.IDLE, e.message);
                }
            }
            poke();
            return d;
        }

        /** Every publish counts as a use (for lastUsed and LRU eviction). */
        @Override
        public void used(String imageName) {
            synchronized (NodeAgent.this) {
                Entry e = entries.get(imageName);
                if (e != null) {
                    e.lastUsed = clock.instant();
                }
            }
            scheduleReport();
        }
    };

    private final AgentPolicy policy;

    // ---------------------------------------------------------------- GC

    private Map<String, Integer> mountsByImage() {
        return volumes.volumesByImage();
    }

    /** The image table as GC sees it. */
    private final NodeGc.Images gcView = new NodeGc.Images() {
        @Override
        public Set<String> known() {
            synchronized (NodeAgent.this) {
                return new HashSet<>(entries.keySet());
            }
        }

        @Override
        public Set<String> building() {
            synchronized (NodeAgent.this) {
                Set<String> out = new HashSet<>();
                entries.values().stream().filter(e -> e.running != null).forEach(e -> out.add(e.name));
                return out;
            }
        }

        @Override
        public String leastRecentlyUsed(Map<String, Integer> mounts, Set<Digest> mountRecords) {
            synchronized (NodeAgent.this) {
                return entries.values().stream()
                        .filter(e -> e.built != null && e.running == null && !e.evicted
                                && !mounts.containsKey(e.name) && !mountRecords.contains(e.built.digest()))
                        .min(Comparator.comparing(Entry::lruTime).thenComparing(e -> e.name))
                        .map(e -> e.name).orElse(null);
            }
        }

        @Override
        public void evicted(String name) {
            synchronized (NodeAgent.this) {
                Entry e = entries.get(name);
                if (e != null) {
                    e.built = null;
                    e.evicted = true;
                    set(e, ImageState.Pending, planner.evictedMessage());
                }
            }
        }
    };

    // ---------------------------------------------------------------- report

    /** A status write soon, coalescing bursts; {@link #report} applies the rate limit. */
    private void scheduleReport() {
        if (closed) {
            return;
        }
        try {
            loop.schedule(() -> guarded("report", this::report), COALESCE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** Writes the status when it changed, as {@link StatusWriter} paces it. */
    private void report() {
        if (closed || !synced()) {
            return;
        }
        StatusWriter.Outcome outcome = status.report(imageReports(), gc.lastRun());
        if (outcome.written()) {
            metrics.statusWritten();
        }
        if (outcome.again() != null) {
            loop.schedule(() -> guarded("report", this::report), outcome.again().toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** Each image's line of the report, by name. */
    private List<NodeImage> imageReports() {
        Map<String, Integer> mounts = mountsByImage();
        SortedMap<String, NodeImage> list = new TreeMap<>();
        synchronized (this) {
            for (Entry e : entries.values()) {
                NodeImage i = new NodeImage(e.name, e.state);
                i.setMessage(e.message);
                if (e.built != null) {
                    i.setDigest(e.built.digest().hex());
                    i.setFiles(e.built.files());
                    i.setObjects(e.built.objects());
                    i.setBytes(e.built.bytes());
                }
                i.setMounts(mounts.getOrDefault(e.name, 0));
                if (e.lastUsed != null) {
                    i.setLastUsed(e.lastUsed.truncatedTo(ChronoUnit.SECONDS).toString());
                }
                list.put(e.name, i);
            }
        }
        return new ArrayList<>(list.values());
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
        builds.shutdownNow();
        loop.shutdownNow();
        if (!builds.awaitTermination(10, TimeUnit.SECONDS)) {
            LOG.warn("builds did not stop within 10 s; they finish in the background and leave nothing referenced");
        }
        loop.awaitTermination(5, TimeUnit.SECONDS);
    }
}
