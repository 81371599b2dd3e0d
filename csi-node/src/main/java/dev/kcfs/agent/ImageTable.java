package dev.kcfs.agent;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.verity.Digest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Future;

/**
 * The images of this node as the agent knows them, by ComposefsImage name. This object's monitor
 * guards every entry: the single-call methods take it themselves, and a caller that reads and
 * changes entries in several steps ({@link #get}, {@link #add}, {@link #remove}, {@link #all})
 * holds {@code synchronized (table)} around them. No store or API I/O happens under it, except {@link Recovery} at start.
 */
final class ImageTable implements NodeGc.Images {
    /** The build of an image running (or queued) now: its key, the token that tells it its result still counts, the task. */
    record Running(BuildKey key, Object token, Future<?> task) {}

    /** The state of one image on this node. Guarded by the table's monitor. */
    static final class Entry {
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
            return new ImagePlanner.Have(
                    state, built, running == null ? null : running.key(), failure, evicted);
        }

        /** Sets the reported state; returns whether it changed. */
        boolean set(ImageState newState, String newMessage) {
            boolean changed = state != newState || !Objects.equals(message, newMessage);
            state = newState;
            message = newMessage;
            return changed;
        }

        /** Stops the running build, if any. */
        void cancel() {
            if (running != null) {
                running.task().cancel(true);
            }
            running = null;
        }

        Instant lruTime() {
            if (lastUsed != null) {
                return lastUsed;
            }
            return built != null ? built.builtAt() : Instant.MIN;
        }
    }

    private final Map<String, Entry> entries = new HashMap<>();
    private final String evictedMessage;

    /** @param evictedMessage the report of an image evicted for the cache limit */
    ImageTable(String evictedMessage) {
        this.evictedMessage = evictedMessage;
    }

    // ---------------------------------------------------------------- steps, under the caller's
    // lock

    /** The entry of {@code name}, or null. The caller holds the monitor. */
    Entry get(String name) {
        assert Thread.holdsLock(this);
        return entries.get(name);
    }

    /** A new entry for {@code name}. The caller holds the monitor. */
    Entry add(String name) {
        assert Thread.holdsLock(this);
        Entry e = new Entry(name);
        entries.put(name, e);
        return e;
    }

    /** The caller holds the monitor. */
    void remove(String name) {
        assert Thread.holdsLock(this);
        entries.remove(name);
    }

    /** Every entry, live. The caller holds the monitor. */
    Collection<Entry> all() {
        assert Thread.holdsLock(this);
        return entries.values();
    }

    // ---------------------------------------------------------------- single calls

    /** Images in {@code state}, for the gauge. */
    synchronized int count(ImageState state) {
        return (int) entries.values().stream().filter(e -> e.state == state).count();
    }

    /** Whether the build holding {@code token} is still {@code name}'s current build. */
    synchronized boolean runs(String name, Object token) {
        Entry e = entries.get(name);
        return e != null && e.runs(token);
    }

    /**
     * A pod asks for {@code name} now (see {@link AgentPolicy.Table#demand}): marks it requested and
     * not evicted, asks a failed build for an early retry, and forgets what an idle pinned image was
     * built from so the next pass builds it again.
     */
    synchronized AgentPolicy.Demand demand(String name, BuildKey key, Instant now) {
        Entry e = entries.computeIfAbsent(name, Entry::new);
        e.requestedAt = now;
        e.evicted = false;
        if (e.running != null) {
            return new AgentPolicy.Demand(AgentPolicy.Demand.Kind.BUILDING, e.message);
        }
        if (e.state == ImageState.Failed) {
            if (e.failure != null) {
                e.failure = e.failure.retryNow(); // a pod waiting for it is worth an early retry
            }
            return new AgentPolicy.Demand(AgentPolicy.Demand.Kind.FAILED, e.message);
        }
        if (key != null) {
            e.built = null;
        }
        return new AgentPolicy.Demand(AgentPolicy.Demand.Kind.IDLE, e.message);
    }

    /** A publish used {@code name} at {@code now} (lastUsed, LRU eviction). */
    synchronized void used(String name, Instant now) {
        Entry e = entries.get(name);
        if (e != null) {
            e.lastUsed = now;
        }
    }

    /** Each image's line of the report, by name; {@code mounts} are the volumes per image. */
    synchronized List<NodeImage> reports(Map<String, Integer> mounts) {
        SortedMap<String, NodeImage> list = new TreeMap<>();
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
        return new ArrayList<>(list.values());
    }

    // ---------------------------------------------------------------- as GC sees it

    @Override
    public synchronized Set<String> known() {
        return new HashSet<>(entries.keySet());
    }

    @Override
    public synchronized Set<String> building() {
        Set<String> out = new HashSet<>();
        entries.values().stream().filter(e -> e.running != null).forEach(e -> out.add(e.name));
        return out;
    }

    @Override
    public synchronized String leastRecentlyUsed(
            Map<String, Integer> mounts, Set<Digest> mountRecords) {
        return entries.values().stream()
                .filter(
                        e ->
                                e.built != null
                                        && e.running == null
                                        && !e.evicted
                                        && !mounts.containsKey(e.name)
                                        && !mountRecords.contains(e.built.digest()))
                .min(Comparator.comparing(Entry::lruTime).thenComparing(e -> e.name))
                .map(e -> e.name)
                .orElse(null);
    }

    @Override
    public synchronized void evicted(String name) {
        Entry e = entries.get(name);
        if (e != null) {
            e.built = null;
            e.evicted = true;
            e.set(ImageState.Pending, evictedMessage);
        }
    }
}
