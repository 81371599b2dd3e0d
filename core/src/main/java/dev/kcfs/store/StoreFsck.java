package dev.kcfs.store;

import static dev.kcfs.store.Store.LIST_SUFFIX;
import static dev.kcfs.store.StoreFiles.*;

import dev.kcfs.store.Store.FsckReport;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.FsVerityHasher;
import dev.kcfs.verity.KernelVerity;
import dev.kcfs.verity.VerityException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** The store's check ({@link Store#fsck}): every object and image against its name. */
final class StoreFsck {
    private final Store store;

    StoreFsck(Store store) {
        this.store = store;
    }

    FsckReport run(boolean dryRun, int threads) throws StoreException {
        try (Store.Lease lease = store.lease("fsck")) {
            List<String> problems = Collections.synchronizedList(new ArrayList<>());
            List<Path> quarantined = Collections.synchronizedList(new ArrayList<>());
            List<Path> files = new ArrayList<>();
            for (Path prefix : list(store.objects.root())) {
                if (!Files.isDirectory(prefix, LinkOption.NOFOLLOW_LINKS)
                        || parsePrefix(prefix.getFileName().toString()) < 0) {
                    problems.add("stray entry in objects/: " + prefix);
                    continue;
                }
                files.addAll(list(prefix));
            }
            AtomicLong checked = new AtomicLong();
            Map<Digest, byte[]> good = new java.util.concurrent.ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
            try {
                List<Future<?>> work = new ArrayList<>();
                ConcurrentLinkedQueue<Path> queue = new ConcurrentLinkedQueue<>(files);
                AtomicReference<StoreException> failure = new AtomicReference<>();
                for (int t = 0; t < Math.max(1, threads); t++) {
                    work.add(
                            pool.submit(
                                    () -> {
                                        FsVerityHasher hasher = new FsVerityHasher();
                                        ByteBuffer buf = FsVerity.readBuffer();
                                        Path f;
                                        while ((f = queue.poll()) != null) {
                                            Digest named =
                                                    Digest.fromObjectPath(
                                                            f.getParent().getFileName()
                                                                    + "/"
                                                                    + f.getFileName());
                                            try {
                                                if (named == null
                                                        || !Files.isRegularFile(
                                                                f, LinkOption.NOFOLLOW_LINKS)) {
                                                    problems.add("not an object: " + f);
                                                    quarantine(f, dryRun, quarantined);
                                                    continue;
                                                }
                                                java.security.MessageDigest sha =
                                                        ObjectDirectory.newSha256();
                                                Digest actual = digestBoth(f, hasher, sha, buf);
                                                checked.incrementAndGet();
                                                if (!actual.equals(named)) {
                                                    problems.add(
                                                            "object "
                                                                    + f
                                                                    + " has content "
                                                                    + actual.hex()
                                                                    + " (tampered or corrupt)");
                                                    quarantine(f, dryRun, quarantined);
                                                } else {
                                                    good.put(named, sha.digest());
                                                }
                                            } catch (StoreException e) {
                                                failure.compareAndSet(null, e);
                                            } catch (IOException e) {
                                                readFailed(
                                                        f,
                                                        e,
                                                        dryRun,
                                                        problems,
                                                        quarantined,
                                                        failure);
                                            }
                                        }
                                        return null;
                                    }));
                }
                for (Future<?> w : work) {
                    w.get();
                }
                if (failure.get() != null) {
                    throw failure.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreException("fsck of " + store.root + " interrupted");
            } catch (java.util.concurrent.ExecutionException e) {
                throw new StoreException(
                        "fsck of " + store.root + " failed: " + e.getCause(), e.getCause());
            } finally {
                pool.shutdownNow();
            }

            if (!dryRun) {
                rebuildIndex(good);
                store.manifests.sweep(store::hasImage);
            }
            SortedMap<Digest, List<Digest>> missing = new TreeMap<>();
            int imagesChecked = 0;
            for (Map.Entry<Digest, Path> img : store.images().entrySet()) {
                imagesChecked++;
                Digest actual;
                try {
                    actual = FsVerity.digest(img.getValue());
                } catch (IOException e) {
                    problems.add("cannot read image " + img.getValue() + ": " + e.getMessage());
                    continue;
                }
                if (!actual.equals(img.getKey())) {
                    problems.add(
                            "image "
                                    + img.getValue()
                                    + " has content "
                                    + actual.hex()
                                    + " (tampered or corrupt)");
                    quarantine(img.getValue(), dryRun, quarantined);
                    continue;
                }
                Optional<ObjectList> l = checkedObjectList(img.getKey(), dryRun, problems);
                if (l.isEmpty()) {
                    continue;
                }
                List<Digest> absent = new ArrayList<>();
                for (Digest o : l.get().digests()) {
                    if (!store.objects.contains(o)) {
                        absent.add(o);
                    }
                }
                if (!absent.isEmpty()) {
                    missing.put(img.getKey(), List.copyOf(absent));
                }
            }
            for (Map.Entry<String, Digest> r : store.refs().entrySet()) {
                if (!store.hasImage(r.getValue())) {
                    problems.add(
                            "ref '"
                                    + r.getKey()
                                    + "' points at missing image "
                                    + r.getValue().hex());
                }
            }
            if (!dryRun) {
                store.scratch.cleanIfIdle();
            }
            return new FsckReport(
                    (int) checked.get(),
                    imagesChecked,
                    List.copyOf(quarantined),
                    missing,
                    List.copyOf(problems));
        }
    }

    /**
     * Makes the sha256 index say exactly what the objects hold: entries of objects fsck did not find
     * good (or whose sha256 is another) go, every good object gets its entry.
     */
    private void rebuildIndex(Map<Digest, byte[]> good) throws StoreException {
        Sha256Index index = store.objects.index();
        Map<String, Digest> bySha = new java.util.HashMap<>();
        good.forEach((d, sha) -> bySha.put(java.util.HexFormat.of().formatHex(sha), d));
        index.sweep(d -> good.containsKey(d));
        // an entry whose object is good but whose name is not that object's sha256 points wrong
        index.sweep(
                d -> {
                    byte[] sha = good.get(d);
                    return sha != null
                            && index.lookup(sha, store.objects).map(d::equals).orElse(false);
                });
        good.forEach((d, sha) -> index.put(sha, d));
    }

    /** fs-verity digest and sha256 of a file in one read. */
    private static Digest digestBoth(
            Path f, FsVerityHasher hasher, java.security.MessageDigest sha, ByteBuffer buf)
            throws IOException {
        hasher.reset();
        buf.clear();
        try (java.nio.channels.FileChannel ch =
                java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) {
                if (!buf.hasRemaining()) {
                    buf.flip();
                    sha.update(buf.duplicate());
                    hasher.update(buf);
                    buf.clear();
                }
            }
        }
        buf.flip();
        sha.update(buf.duplicate());
        hasher.update(buf);
        return hasher.digest();
    }

    /** The saved object list, rebuilt from the image reader when missing or damaged. */
    private Optional<ObjectList> checkedObjectList(
            Digest imageDigest, boolean dryRun, List<String> problems) throws StoreException {
        Path list = store.images.resolve(imageDigest.hex() + LIST_SUFFIX);
        try {
            return Optional.of(ObjectList.decode(Files.readAllBytes(list), list.toString()));
        } catch (NoSuchFileException e) {
            problems.add("image " + imageDigest.hex() + " has no object list " + list);
        } catch (IOException e) {
            problems.add(e.getMessage());
        }
        ObjectList rebuilt;
        try {
            rebuilt = store.reader.read(store.imagePath(imageDigest));
        } catch (IOException e) {
            problems.add(
                    "cannot read image "
                            + store.imagePath(imageDigest)
                            + " to rebuild its object list: "
                            + e.getMessage());
            return Optional.empty();
        }
        if (rebuilt == null) {
            problems.add(
                    "no image reader configured to rebuild the object list of "
                            + imageDigest.hex());
            return Optional.empty();
        }
        if (!dryRun) {
            try (Scratch.Session session = store.scratch.session("list-")) {
                Path temp = session.dir().resolve("list");
                Files.write(temp, rebuilt.encode());
                Durability.replaceDurably(temp, list);
            } catch (StoreException e) {
                throw e;
            } catch (IOException e) {
                throw new StoreException("cannot rewrite " + list + ": " + e.getMessage(), e);
            }
        }
        return Optional.of(rebuilt);
    }

    /**
     * An object that cannot be read. On a file with fs-verity the kernel answers EIO when a block
     * does not match the Merkle tree, so its bytes on disk were changed: quarantine it like any
     * object with the wrong content (a pod would only get EIO from it).
     */
    private void readFailed(
            Path f,
            IOException e,
            boolean dryRun,
            List<String> problems,
            List<Path> quarantined,
            AtomicReference<StoreException> failure) {
        boolean hasVerity;
        try {
            hasVerity =
                    store.verity.measure(f).status() == KernelVerity.Measurement.Status.MEASURED;
        } catch (VerityException ve) {
            hasVerity = false;
        }
        if (!hasVerity) {
            problems.add("cannot read object " + f + ": " + e.getMessage());
            return;
        }
        problems.add(
                "object "
                        + f
                        + " fails the kernel's fs-verity check when read ("
                        + e.getMessage()
                        + "): its bytes on disk were changed (tampered or corrupt)");
        try {
            quarantine(f, dryRun, quarantined);
        } catch (StoreException se) {
            failure.compareAndSet(null, se);
        }
    }

    private void quarantine(Path bad, boolean dryRun, List<Path> quarantined)
            throws StoreException {
        if (dryRun) {
            quarantined.add(bad);
            return;
        }
        String flat = store.root.relativize(bad).toString().replace('/', '_');
        Path target = store.quarantine.resolve(Instant.now().toEpochMilli() + "-" + flat);
        try {
            Files.move(bad, target);
            quarantined.add(target);
        } catch (IOException e) {
            throw new StoreException(
                    "cannot move bad file "
                            + bad
                            + " to "
                            + store.quarantine
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }
}
