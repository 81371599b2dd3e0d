package dev.kcfs.pull.chunked;

import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.pull.ImportProgress;
import dev.kcfs.pull.Importer;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The figures of partial pulls (bench/README.md), from a real docker-registry on loopback with
 * skopeo-made zstd:chunked images: image A (FILES files), image B sharing 90 % of its file bytes
 * with A (the same files, laid out in other layers and directories), then
 * <ol>
 *   <li>B pulled partially into a store that holds A, against B pulled whole into an empty store;</li>
 *   <li>A pulled partially into an empty store (nothing shared), against A pulled whole;</li>
 *   <li>B pulled again into the store that holds it.</li>
 * </ol>
 * Each pull runs ROUNDS times into a fresh store; the median wall time is printed.
 * Args: WORKDIR [FILES=400] [FILE_KIB=256] [ROUNDS=3].
 */
public final class ChunkedPullBenchmark {
    private ChunkedPullBenchmark() {}

    /** Compressible like binaries and text are (about 2:1 with zstd), different per seed. */
    static byte[] content(long seed, int size) {
        Random r = new Random(seed);
        byte[] words = new byte[4096];
        r.nextBytes(words);
        byte[] b = new byte[size];
        for (int i = 0; i < size; ) {
            if (r.nextInt(4) == 0) {
                b[i++] = (byte) r.nextInt();
            } else {
                int from = r.nextInt(words.length - 16);
                int n = Math.min(4 + r.nextInt(12), size - i);
                System.arraycopy(words, from, b, i, n);
                i += n;
            }
        }
        return b;
    }

    static byte[] layer(String dir, int[] seeds, int size) {
        TarBuilder t = new TarBuilder().entry(dir + "/").type('5').mode(0755).add();
        for (int s : seeds) {
            t.entry(dir + "/f" + s).body(content(s, size)).mode(0644).add();
        }
        return t.build();
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        int files = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        int size = (args.length > 2 ? Integer.parseInt(args[2]) : 256) * 1024;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        Files.createDirectories(work);
        int[] all = java.util.stream.IntStream.range(0, files).toArray();
        int half = files / 2;
        int shared = files * 9 / 10;
        TestImage a =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.plain(
                                        layer("usr/lib", Arrays.copyOfRange(all, 0, half), size)),
                                Layer.plain(
                                        layer(
                                                "usr/share",
                                                Arrays.copyOfRange(all, half, files),
                                                size))));
        int[] bShared = Arrays.copyOfRange(all, 0, shared);
        int[] bOwn = java.util.stream.IntStream.range(100_000, 100_000 + files - shared).toArray();
        TestImage b =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.plain(layer("opt/app", bShared, size)),
                                Layer.plain(layer("opt/own", bOwn, size))));
        ChunkedImages.assumeSkopeo();
        Path la = ChunkedImages.convert(a, work.resolve("layout-a"));
        Path lb = ChunkedImages.convert(b, work.resolve("layout-b"));
        try (TestRegistry registry = TestRegistry.anonymous().startOrSkip()) {
            ChunkedImages.push(la, registry.pusher(), "bench/a", "v1");
            ChunkedImages.push(lb, registry.pusher(), "bench/b", "v1");
            String refA = registry.address() + "/bench/a:v1";
            String refB = registry.address() + "/bench/b:v1";
            System.out.printf(
                    "image A: %d files of %d KiB; image B: %d of them + %d own (%.0f %% of B's file bytes shared)%n",
                    files, size / 1024, shared, files - shared, 100.0 * shared / files);
            pull(work, "warm-up", refA, false, null);

            Run fullB = median(work, "B whole, empty store", refB, false, null, rounds);
            Run partialB = median(work, "B partial, store holds A", refB, true, refA, rounds);
            Run fullA = median(work, "A whole, empty store", refA, false, null, rounds);
            Run coldA = median(work, "A partial, empty store", refA, true, null, rounds);
            Path store = work.resolve("store-repull");
            Importer.Result first = pull(store, refB, true);
            long t0 = System.nanoTime();
            Importer.Result again = pull(store, refB, true);
            double repull = (System.nanoTime() - t0) / 1e9;
            deleteTree(store);

            System.out.printf(
                    "%nfigure 1: B partial fetched %.1f %% of B's %d compressed layer bytes (goal <= 15 %%); %.2f s vs %.2f s whole = %.1fx faster (goal >= 3x)%n",
                    100.0 * partialB.result.bytesFetched() / partialB.result.layerBytes(),
                    partialB.result.layerBytes(),
                    partialB.seconds,
                    fullB.seconds,
                    fullB.seconds / partialB.seconds);
            System.out.printf(
                    "figure 2: A partial into an empty store %.2f s vs whole %.2f s = %+.1f %% (goal within 10 %%)%n",
                    coldA.seconds,
                    fullA.seconds,
                    100.0 * (coldA.seconds - fullA.seconds) / fullA.seconds);
            System.out.printf(
                    "figure 3: re-pull of B fetched %d of %d layer bytes (%.2f %%; %d of %d layers not fetched: image already stored), %d objects added, %.3f s (first pull added %d)%n",
                    again.bytesFetched(),
                    again.layerBytes(),
                    100.0 * again.bytesFetched() / again.layerBytes(),
                    again.storedLayers(),
                    again.layers(),
                    again.objectsAdded(),
                    repull,
                    first.objectsAdded());
        }
    }

    record Run(double seconds, Importer.Result result) {}

    /** Median of {@code rounds} pulls, each into a fresh store (that first holds {@code before}, pulled and not timed). */
    static Run median(
            Path work, String label, String ref, boolean partial, String before, int rounds)
            throws Exception {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            runs.add(pull(work, label, ref, partial, before));
        }
        runs.sort((x, y) -> Double.compare(x.seconds, y.seconds));
        Run m = runs.get(runs.size() / 2);
        System.out.printf(
                "%-28s median %.2f s, fetched %d of %d bytes, %d objects added%n",
                label,
                m.seconds,
                m.result.bytesFetched(),
                m.result.layerBytes(),
                m.result.objectsAdded());
        return m;
    }

    static Run pull(Path work, String label, String ref, boolean partial, String before)
            throws Exception {
        Path store = Files.createTempDirectory(work, "store");
        try {
            if (before != null) {
                pull(store, before, true);
            }
            long t0 = System.nanoTime();
            Importer.Result r = pull(store, ref, partial);
            return new Run((System.nanoTime() - t0) / 1e9, r);
        } finally {
            deleteTree(store);
        }
    }

    static Importer.Result pull(Path storeDir, String ref, boolean partial) throws Exception {
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, 3, Duration.ofMillis(100));
        try (Importer importer =
                new Importer(
                        Store.open(storeDir), client, BodyPipeline.forThisMachine(), partial)) {
            return importer.pull(ref, Platform.parse("linux/amd64"), null, ImportProgress.NONE);
        }
    }

    static void deleteTree(Path p) throws Exception {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
