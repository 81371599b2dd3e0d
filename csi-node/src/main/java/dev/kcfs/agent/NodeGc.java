package dev.kcfs.agent;

import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frees the node store: drops refs nothing on the node accounts for (temporary refs of dead builds,
 * images gone while the agent was down), runs the store's GC, then evicts least recently used
 * unmounted images while the store is over {@code --cache-max-bytes}. Runs on the agent loop, when
 * asked (after a build or a dropped image) or every GC interval.
 */
final class NodeGc {
    private static final Logger LOG = LoggerFactory.getLogger(NodeGc.class);

    /** How long a GC waits for the store's lock before it is postponed. */
    private static final Duration LOCK_WAIT = Duration.ofSeconds(1);

    /** The agent's images as GC sees them. */
    interface Images {
        /** Every image name the agent has an entry for. */
        Set<String> known();

        /** Images with a build running. */
        Set<String> building();

        /** The built, unmounted, not building image used least recently, or null when there is none. */
        String leastRecentlyUsed(Map<String, Integer> mounts, Set<Digest> mountRecords);

        /** {@code name} was evicted: its ref and build record are gone. */
        void evicted(String name);
    }

    private final Store store;
    private final BuildRecords records;
    private final String nodeName;
    private final long cacheMaxBytes;
    private final Duration interval;
    private final Clock clock;
    private final AtomicInteger runs = new AtomicInteger();
    private volatile boolean requested;
    private volatile Instant lastRun;
    private Instant lastAttempt = Instant.MIN;

    NodeGc(
            Store store,
            BuildRecords records,
            String nodeName,
            long cacheMaxBytes,
            Duration interval,
            Clock clock) {
        this.store = store;
        this.records = records;
        this.nodeName = nodeName;
        this.cacheMaxBytes = cacheMaxBytes;
        this.interval = interval;
        this.clock = clock;
    }

    /** Asks for a run with the next planning pass. */
    void request() {
        requested = true;
    }

    /** Whether a run is asked for, or the interval has passed since the last attempt. */
    boolean due() {
        return requested
                || lastRun == null
                || !clock.instant().isBefore(lastAttempt.plus(interval));
    }

    /** When the last run finished, or null. */
    Instant lastRun() {
        return lastRun;
    }

    /** Finished runs. */
    int runs() {
        return runs.get();
    }

    /** The digests of the store's mount records (what a mount still uses); empty when they cannot be read. */
    Set<Digest> mountRecords() {
        try {
            return store.mountRecords();
        } catch (IOException e) {
            LOG.warn("cannot list the mount records of store {}: {}", store.root(), e.getMessage());
            return Set.of();
        }
    }

    /**
     * One run; {@code mounts}: volumes per image name.
     *
     * @return the bytes freed, or empty when the run was postponed (builds hold leases) or failed
     */
    OptionalLong run(Map<String, Integer> mounts, Images images) {
        lastAttempt = clock.instant();
        requested = false;
        try {
            Set<Digest> pinned = mountRecords();
            Set<String> known = images.known();
            Set<String> building = images.building();
            for (Map.Entry<String, Digest> ref : store.refs().entrySet()) {
                String name = ref.getKey();
                String owner =
                        name.startsWith(ImageBuilder.BUILDING_PREFIX)
                                ? name.substring(ImageBuilder.BUILDING_PREFIX.length())
                                : null;
                boolean keep =
                        owner != null
                                ? building.contains(owner)
                                : known.contains(name)
                                        || mounts.containsKey(name)
                                        || pinned.contains(ref.getValue());
                if (!keep) {
                    store.removeRef(name);
                    LOG.info(
                            "dropped ref {} of image {}: nothing on node {} wants it",
                            name,
                            ref.getValue().hex(),
                            nodeName);
                }
            }
            Store.GcReport report = store.gc(false, LOCK_WAIT);
            if (!report.ran()) {
                requested = true; // builds hold leases: try again next pass
                LOG.debug("GC postponed: {}", report.warnings());
                return OptionalLong.empty();
            }
            if (report.imagesRemoved() > 0 || report.objectsRemoved() > 0) {
                LOG.info(
                        "GC on node {}: removed {} image(s) and {} object(s), freed {} bytes",
                        nodeName,
                        report.imagesRemoved(),
                        report.objectsRemoved(),
                        report.bytesFreed());
            }
            if (cacheMaxBytes > 0) {
                evict(mounts, pinned, images);
            }
            lastRun = clock.instant();
            runs.incrementAndGet();
            return OptionalLong.of(report.bytesFreed());
        } catch (IOException e) {
            LOG.warn("GC of store {} failed (retried next pass): {}", store.root(), e.getMessage());
            return OptionalLong.empty();
        }
    }

    private void evict(Map<String, Integer> mounts, Set<Digest> pinned, Images images)
            throws IOException {
        while (true) {
            Store.Stats s = store.stats();
            long used = s.objectDiskBytes() + s.imageBytes();
            if (used <= cacheMaxBytes) {
                return;
            }
            String victim = images.leastRecentlyUsed(mounts, pinned);
            if (victim == null) {
                LOG.warn(
                        "node store {} uses {} bytes, over --cache-max-bytes {}, but every image in it is mounted or"
                                + " building",
                        store.root(),
                        used,
                        cacheMaxBytes);
                return;
            }
            store.removeRef(victim);
            records.remove(victim);
            images.evicted(victim);
            LOG.info(
                    "evicted image {} (least recently used) : store uses {} bytes, limit {}",
                    victim,
                    used,
                    cacheMaxBytes);
            store.gc(false, LOCK_WAIT);
        }
    }
}
