package dev.kcfs.store;

import static dev.kcfs.store.Store.IMAGE_SUFFIX;
import static dev.kcfs.store.Store.LIST_SUFFIX;
import static dev.kcfs.store.StoreFiles.*;

import dev.kcfs.store.Store.GcReport;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/** The store's garbage collection ({@link Store#gc}): what no ref or mount keeps goes. */
final class StoreGc {
    private final Store store;

    StoreGc(Store store) {
        this.store = store;
    }

    GcReport run(boolean dryRun, Duration wait, Set<Digest> releasedMounts) throws StoreException {
        FileLock lock = acquireExclusive(wait);
        if (lock == null) {
            return new GcReport(
                    false,
                    dryRun,
                    0,
                    0,
                    0,
                    0,
                    0,
                    List.of("leases are held, GC did not run: " + describeLeases()));
        }
        try (lock) {
            List<String> warnings = new ArrayList<>();
            for (Path stale : list(store.leases)) {
                // with the exclusive lock held, no lease is alive: these are from crashed processes
                deleteQuietly(stale);
            }
            Set<Digest> roots = new TreeSet<>(store.refs().values());
            for (Digest mounted : store.mountRecords()) {
                if (!releasedMounts.contains(mounted)) {
                    roots.add(mounted);
                }
            }
            SortedMap<Digest, Path> all = store.images();
            for (Digest r : roots) {
                if (!all.containsKey(r)) {
                    warnings.add(
                            "image "
                                    + r.hex()
                                    + " is referenced by a ref or mount but missing from the store");
                }
            }
            int imagesRemoved = 0;
            long freed = 0;
            for (Map.Entry<Digest, Path> e : all.entrySet()) {
                if (!roots.contains(e.getKey())) {
                    imagesRemoved++;
                    freed += sizeOf(e.getValue());
                    if (!dryRun) {
                        deleteOrFail(e.getValue());
                        deleteOrFail(store.images.resolve(e.getKey().hex() + LIST_SUFFIX));
                    }
                }
            }
            // object lists without image (a crash between writing the list and the image)
            for (Path p : list(store.images)) {
                String n = p.getFileName().toString();
                if (n.endsWith(LIST_SUFFIX)
                        && !dryRun
                        && !Files.exists(
                                store.images.resolve(
                                        n.substring(0, n.length() - LIST_SUFFIX.length())
                                                + IMAGE_SUFFIX))) {
                    deleteQuietly(p);
                }
            }
            Set<Digest> reachable = new HashSet<>();
            boolean complete = true;
            int imagesKept = 0;
            for (Digest d : roots) {
                if (!all.containsKey(d)) {
                    continue;
                }
                imagesKept++;
                Optional<ObjectList> l;
                try {
                    l = store.objectList(d);
                } catch (StoreException e) {
                    warnings.add(e.getMessage());
                    l = Optional.empty();
                }
                if (l.isEmpty()) {
                    complete = false;
                    warnings.add(
                            "image "
                                    + d.hex()
                                    + " has no object list and the image reader could not provide one; objects were not collected (run fsck)");
                } else {
                    reachable.addAll(l.get().digests());
                }
            }
            int objectsRemoved = 0;
            int objectsKept = 0;
            for (Path prefix : list(store.objects.root())) {
                for (Path f : list(prefix)) {
                    Digest d = Digest.fromObjectPath(prefix.getFileName() + "/" + f.getFileName());
                    if (d == null) {
                        warnings.add("not an object (left for fsck): " + f);
                        continue;
                    }
                    if (!complete || reachable.contains(d)) {
                        objectsKept++;
                        continue;
                    }
                    objectsRemoved++;
                    freed += sizeOf(f);
                    if (!dryRun) {
                        deleteOrFail(f);
                    }
                }
            }
            if (!dryRun) {
                // entries whose object just went (or went earlier): a lookup would skip them anyway
                store.objects.index().sweep(store.objects::contains);
                store.manifests.sweep(store::hasImage);
                store.scratch.cleanIfIdle();
            }
            return new GcReport(
                    true,
                    dryRun,
                    imagesRemoved,
                    objectsRemoved,
                    freed,
                    imagesKept,
                    objectsKept,
                    List.copyOf(warnings));
        }
    }

    /**
     * Closes the gate to new leases, then waits for the current ones to end. Short writes outside
     * leases (addImage, setRef, recordMount) do not pass the gate: a lease holder may call them.
     */
    private FileLock acquireExclusive(Duration wait) throws StoreException {
        long deadline = System.nanoTime() + wait.toNanos();
        FileLock gate = poll(store.gcGate, deadline);
        if (gate == null) {
            return null;
        }
        try (gate) {
            return poll(store.gcLock, deadline);
        }
    }

    private String describeLeases() {
        List<String> out = new ArrayList<>();
        try {
            for (Path p : list(store.leases)) {
                try {
                    out.add(Files.readString(p).trim());
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        } catch (StoreException e) {
            out.add(e.getMessage());
        }
        return out.isEmpty() ? "(writers without a lease file)" : String.join("; ", out);
    }
}
