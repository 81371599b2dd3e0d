package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.verity.Digest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Imports, ref changes, mount records and GC in parallel, each through its own Store instance
 * (as separate processes would): no object reachable from a ref or a mount is ever missing.
 */
class StoreConcurrencyTest {
    @TempDir Path dir;

    private static void assertWhole(Store store, Digest image, String why) throws Exception {
        ObjectList list =
                store.objectList(image)
                        .orElseThrow(
                                () -> new AssertionError(why + ": no object list for " + image));
        for (Digest o : list.digests()) {
            assertThat(store.objects().contains(o))
                    .as("%s: object %s of image %s", why, o, image)
                    .isTrue();
        }
    }

    @Test
    void gcNeverRemovesReachableObjects() throws Exception {
        Path root = dir.resolve("s");
        Store.open(root);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger gcRuns = new AtomicInteger();
        AtomicInteger gcRemoved = new AtomicInteger();
        AtomicInteger mountsChecked = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> importers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int id = t;
                importers.add(
                        pool.submit(
                                () -> {
                                    Store store = Store.open(root);
                                    Random r = new Random(id);
                                    for (int round = 0; round < 25; round++) {
                                        long[] seeds = new long[5 + r.nextInt(10)];
                                        for (int i = 0; i < seeds.length; i++) {
                                            seeds[i] = r.nextInt(40); // shared pool: images of both
                                            // importers overlap
                                        }
                                        String ref = "imp" + id + "-" + round;
                                        Digest img =
                                                StoreTest.importImage(
                                                        store, ref, id * 1000L + round, seeds);
                                        assertWhole(store, img, "right after import");
                                        if (round > 0) {
                                            store.removeRef(
                                                    "imp"
                                                            + id
                                                            + "-"
                                                            + (round - 1)); // the previous one
                                            // becomes garbage
                                        }
                                    }
                                    return null;
                                }));
            }
            Future<?> gc =
                    pool.submit(
                            () -> {
                                Store store = Store.open(root);
                                while (!stop.get()) {
                                    Store.GcReport rep = store.gc(false, Duration.ofMillis(200));
                                    if (rep.ran()) {
                                        gcRuns.incrementAndGet();
                                        gcRemoved.addAndGet(rep.objectsRemoved());
                                    }
                                }
                                return null;
                            });
            Future<?> mounter =
                    pool.submit(
                            () -> {
                                Store store = Store.open(root);
                                Random r = new Random(99);
                                while (!stop.get()) {
                                    List<Digest> images = new ArrayList<>(store.refs().values());
                                    if (images.isEmpty()) {
                                        Thread.sleep(5);
                                        continue;
                                    }
                                    Digest img = images.get(r.nextInt(images.size()));
                                    try {
                                        store.recordMount(img);
                                    } catch (StoreException e) {
                                        continue; // its ref went away and GC took it before we
                                        // pinned it: correct
                                    }
                                    assertWhole(store, img, "while mounted");
                                    Thread.sleep(r.nextInt(5));
                                    assertWhole(store, img, "still mounted");
                                    mountsChecked.incrementAndGet();
                                    store.removeMountRecord(img);
                                }
                                return null;
                            });
            for (Future<?> f : importers) {
                f.get();
            }
            stop.set(true);
            gc.get();
            mounter.get();
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
        Store store = Store.open(root);
        for (Digest img : store.refs().values()) {
            assertWhole(store, img, "at the end");
        }
        assertThat(store.refs()).hasSize(2);
        assertThat(gcRuns.get()).as("GC ran in between").isGreaterThan(1);
        assertThat(gcRemoved.get()).as("GC did collect garbage meanwhile").isPositive();
        assertThat(mountsChecked.get()).isPositive();
        Store.GcReport last = store.gc(false, Duration.ofSeconds(5));
        assertThat(last.imagesKept()).isEqualTo(2);
        assertThat(store.fsck(false, 2).clean()).isTrue();
    }

    /** Several openers of one brand-new store used to see each other's half-written metadata and refuse it. */
    @Test
    void manyOpenersOfANewStoreAllSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 40; round++) {
                Path root = dir.resolve("new-" + round);
                java.util.concurrent.CyclicBarrier start =
                        new java.util.concurrent.CyclicBarrier(8);
                List<Future<Store>> openers = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    openers.add(
                            pool.submit(
                                    () -> {
                                        start.await();
                                        return Store.open(root);
                                    }));
                }
                for (Future<Store> f : openers) {
                    assertThat(f.get().root()).isEqualTo(root.toAbsolutePath());
                }
                try (java.util.stream.Stream<Path> left = java.nio.file.Files.list(root)) {
                    assertThat(left.map(p -> p.getFileName().toString()))
                            .as("round %d", round)
                            .noneMatch(n -> n.endsWith(".new"));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** The same race between processes, as when several kcfs commands meet a new store. */
    @Test
    void manyProcessesOpeningANewStoreAllSucceed() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int round = 0; round < 3; round++) {
            Path root = dir.resolve("proc-" + round);
            List<Process> processes = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                processes.add(
                        new ProcessBuilder(
                                        java,
                                        "-cp",
                                        System.getProperty("java.class.path"),
                                        OpenStoreMain.class.getName(),
                                        root.toString())
                                .redirectErrorStream(true)
                                .start());
            }
            for (Process p : processes) {
                String out = new String(p.getInputStream().readAllBytes());
                assertThat(p.waitFor()).as("round %d: %s", round, out).isZero();
            }
            assertThat(Store.exists(root)).isTrue();
        }
    }

    /** A crash during initialisation leaves at most a temporary file, which the next open ignores and removes. */
    @Test
    void leftoversOfACrashedInitialisationAndLostFoundAreNoObstacle() throws Exception {
        Path crashed = java.nio.file.Files.createDirectories(dir.resolve("crashed"));
        java.nio.file.Files.writeString(crashed.resolve(Store.META + ".new"), "format=");
        java.nio.file.Files.writeString(crashed.resolve(Store.META + ".4711.new"), "");
        Store.open(crashed);
        assertThat(crashed.resolve(Store.META)).isRegularFile();
        assertThat(crashed.resolve(Store.META + ".new")).doesNotExist();
        assertThat(crashed.resolve(Store.META + ".4711.new")).doesNotExist();
        // a fresh filesystem's root
        Path fresh = java.nio.file.Files.createDirectories(dir.resolve("fresh/lost+found"));
        Store.open(fresh.getParent());
        assertThat(Store.exists(fresh.getParent())).isTrue();
        // anything else still makes it not a store
        Path other = java.nio.file.Files.createDirectories(dir.resolve("other"));
        java.nio.file.Files.writeString(other.resolve("notes.txt"), "mine");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Store.open(other))
                .hasMessageContaining("is not empty and has no " + Store.META);
    }
}
