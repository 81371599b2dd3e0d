package dev.kcfs.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ComposefsNodeStatus;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.StoreStats;
import dev.kcfs.linux.LibC;
import dev.kcfs.store.Store;
import dev.kcfs.verity.KernelVerity;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes this node's {@code ComposefsNode} status, and decides when: at once when an image appeared,
 * went, or changed state or digest; otherwise (mounts, lastUsed, store numbers, messages) at most
 * once per report interval. A status equal to the last one written is not sent.
 *
 * <p>The first write creates the object (owned by the Node, so it goes with it); later ones are
 * plain status updates carrying the last seen resourceVersion: a 409 means someone else wrote in
 * between, so it reads again and retries. Never server-side apply. The store numbers are walked at
 * most once per interval, and at most once a second after the store changed. Called from the agent
 * loop only.
 */
final class StatusWriter {
    private static final Logger LOG = LoggerFactory.getLogger(StatusWriter.class);
    private static final int CONFLICT_RETRIES = 5;
    private static final Duration STATS_SETTLE = Duration.ofSeconds(1);
    private static final Duration RETRY_FAILED_WRITE = Duration.ofSeconds(5);

    /** What a report did: whether it wrote, and when to try again (null: not until something changes). */
    record Outcome(boolean written, Duration again) {}

    private final KubernetesClient client;
    private final String nodeName;
    private final Store store;
    private final Duration interval;
    private final Clock clock;
    private final boolean veritySupported;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicLong writes = new AtomicLong();
    private ComposefsNode current;
    private JsonNode lastWritten;
    private List<List<String>> lastWrittenView;
    private Instant lastWriteAt = Instant.MIN;
    private StoreStats storeStats;
    private Instant storeStatsAt = Instant.MIN;
    private boolean storeStatsStale = true;

    StatusWriter(
            KubernetesClient client, String nodeName, Store store, Duration interval, Clock clock) {
        this.client = client;
        this.nodeName = nodeName;
        this.store = store;
        this.interval = interval;
        this.clock = clock;
        this.veritySupported = probeVerity(store);
    }

    /** Status writes sent so far (for tests and metrics). */
    long writes() {
        return writes.get();
    }

    /** Whether nothing was written yet: the first report is sent at once (the operator counts nodes that have one). */
    boolean nothingWritten() {
        return lastWrittenView == null;
    }

    /** The store's contents changed: its numbers are read again with the next report. */
    void storeChanged() {
        storeStatsStale = true;
    }

    /** Writes the status of {@code images} (and when GC last ran, or null) when it changed and pacing allows. */
    Outcome report(List<NodeImage> images, Instant lastGc) {
        Instant now = clock.instant();
        Duration again = refreshStoreStats(now);
        ComposefsNodeStatus status = status(images, lastGc);
        JsonNode wanted = json.valueToTree(status);
        if (wanted.equals(lastWritten)) {
            return new Outcome(false, again);
        }
        List<List<String>> view = view(status);
        Instant due = lastWriteAt.plus(interval);
        if (view.equals(lastWrittenView) && now.isBefore(due)) {
            return new Outcome(false, sooner(again, Duration.between(now, due)));
        }
        try {
            write(status, wanted);
            lastWriteAt = now;
            lastWrittenView = view;
            return new Outcome(true, again);
        } catch (KubernetesClientException e) {
            LOG.warn(
                    "cannot write the status of ComposefsNode {} (HTTP {}): {}; retrying",
                    nodeName,
                    e.getCode(),
                    e.getMessage());
            return new Outcome(false, sooner(again, RETRY_FAILED_WRITE));
        }
    }

    private static Duration sooner(Duration a, Duration b) {
        return a == null || b.compareTo(a) < 0 ? b : a;
    }

    private ComposefsNodeStatus status(List<NodeImage> images, Instant lastGc) {
        ComposefsNodeStatus s = new ComposefsNodeStatus();
        s.setStore(storeStats);
        s.setImages(new ArrayList<>(images));
        s.setImageCount(images.size());
        if (lastGc != null) {
            s.setLastGC(lastGc.truncatedTo(ChronoUnit.SECONDS).toString());
        }
        return s;
    }

    /** What makes a write urgent: the images, their states and digests. */
    private static List<List<String>> view(ComposefsNodeStatus s) {
        List<List<String>> out = new ArrayList<>();
        for (NodeImage i : s.getImages()) {
            out.add(
                    List.of(
                            i.getName(),
                            String.valueOf(i.getState()),
                            String.valueOf(i.getDigest())));
        }
        return out;
    }

    /** Walks the store when its numbers are old, or stale and not just walked; returns when to look again, if so. */
    private Duration refreshStoreStats(Instant now) {
        boolean old = !now.isBefore(storeStatsAt.plus(interval));
        boolean staleAndNotJustDone =
                storeStatsStale && !now.isBefore(storeStatsAt.plus(STATS_SETTLE));
        if (storeStats != null && !old && !staleAndNotJustDone) {
            // walked the store less than a second ago: look again shortly instead of walking it per
            // build
            return storeStatsStale ? STATS_SETTLE : null;
        }
        try {
            Store.Stats s = store.stats();
            StoreStats out = new StoreStats();
            out.setObjects(s.objects());
            out.setBytesOnDisk(s.objectDiskBytes() + s.imageBytes());
            out.setLogicalBytes(s.logicalBytes());
            out.setDedupRatio(Math.round(s.dedupRatio() * 100) / 100.0);
            FileStore fs = Files.getFileStore(store.root());
            long capacity = fs.getTotalSpace();
            // free space moves with every write on the disk: reported in steps of 1% of the
            // capacity so
            // it alone does not make a status write every interval
            long step = Math.max(1, capacity / 100);
            out.setCapacityBytes(capacity);
            out.setFreeBytes(fs.getUsableSpace() / step * step);
            out.setVeritySupported(veritySupported);
            storeStats = out;
            storeStatsAt = now;
            storeStatsStale = false;
        } catch (IOException e) {
            LOG.warn("cannot read the statistics of store {}: {}", store.root(), e.getMessage());
        }
        return null;
    }

    /** @throws KubernetesClientException when the API server refuses for another reason than a conflict */
    private void write(ComposefsNodeStatus status, JsonNode wanted) {
        for (int attempt = 0; ; attempt++) {
            if (current == null) {
                current = getOrCreate();
            }
            current.setStatus(status);
            try {
                current = client.resource(current).updateStatus();
                writes.incrementAndGet();
                lastWritten = wanted;
                return;
            } catch (KubernetesClientException e) {
                current = null;
                if ((e.getCode() != 409 && e.getCode() != 404) || attempt >= CONFLICT_RETRIES) {
                    throw e;
                }
                LOG.debug(
                        "status of ComposefsNode {} changed meanwhile (HTTP {}); reading it again",
                        nodeName,
                        e.getCode());
            }
        }
    }

    private ComposefsNode getOrCreate() {
        var resource = client.resources(ComposefsNode.class).withName(nodeName);
        ComposefsNode existing = resource.get();
        if (existing != null) {
            return existing;
        }
        ComposefsNode fresh = new ComposefsNode();
        ObjectMetaBuilder meta = new ObjectMetaBuilder().withName(nodeName);
        Node node = client.nodes().withName(nodeName).get();
        if (node != null) {
            // garbage-collected with its Node: a report of a node that is gone would otherwise stay
            // forever
            meta.withOwnerReferences(
                    new OwnerReferenceBuilder()
                            .withApiVersion("v1")
                            .withKind("Node")
                            .withName(nodeName)
                            .withUid(node.getMetadata().getUid())
                            .build());
        }
        fresh.setMetadata(meta.build());
        try {
            return client.resource(fresh).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return resource
                        .get(); // created meanwhile (another agent instance during a rollout)
            }
            throw e;
        }
    }

    /** Whether the kernel and the store's filesystem can enforce fs-verity (measured on the store directory). */
    private static boolean probeVerity(Store store) {
        try {
            int fd =
                    LibC.INSTANCE.open(
                            store.root().toString(),
                            LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC,
                            0);
            if (fd < 0) {
                return false;
            }
            try {
                return new KernelVerity().measure(fd, store.root().toString()).status()
                        != KernelVerity.Measurement.Status.UNSUPPORTED;
            } finally {
                LibC.INSTANCE.close(fd);
            }
        } catch (Exception | LinkageError e) {
            return false;
        }
    }
}
