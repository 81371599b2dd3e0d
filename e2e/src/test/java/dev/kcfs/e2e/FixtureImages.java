package dev.kcfs.e2e;

import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Three images that share files but no layers, as unrelated images built from the same runtime do.
 *
 * <ul>
 *   <li>A "runtime" of a few dozen files (random bytes, so nothing compresses and every byte counts)
 *       that all three images carry;</li>
 *   <li>a "model" file that only {@code app-a} and {@code app-c} carry;</li>
 *   <li>a few files of each image's own.</li>
 * </ul>
 * The layers are split and compressed differently (one gzip layer; zstd + plain; gzip + zstd with the
 * runtime under another directory), so no layer blob is shared: any sharing the store shows is at the
 * level of file contents.
 */
final class FixtureImages {
    /** One image: its name (also the ComposefsImage and repository name), the OCI image, and its files by path. */
    record Image(String name, TestImage oci, SortedMap<String, byte[]> files) {
        long bytes() {
            return files.values().stream().mapToLong(b -> b.length).sum();
        }
    }

    static final int RUNTIME_FILES = 36;

    final SortedMap<String, byte[]> runtime = new TreeMap<>();
    final byte[] model;
    final List<Image> images;

    FixtureImages() {
        Random sizes = new Random(42);
        for (int i = 0; i < RUNTIME_FILES; i++) {
            // 64 KiB .. 448 KiB, not page-aligned: page-cache figures must round per file
            int size = 64 * 1024 + sizes.nextInt(384 * 1024);
            runtime.put(String.format("lib%02d.so", i), random(1000 + i, size));
        }
        model = random(2000, 1_500_000);
        String arch = Platform.current().architecture();

        SortedMap<String, byte[]> aOwn = own("a", 3);
        SortedMap<String, byte[]> bOwn = own("b", 4);
        SortedMap<String, byte[]> cOwn = own("c", 2);
        List<String> names = new ArrayList<>(runtime.keySet());
        List<String> firstHalf = names.subList(0, names.size() / 2);
        List<String> secondHalf = names.subList(names.size() / 2, names.size());

        // app-a: one gzip layer with everything, the runtime under usr/lib/runtime
        TarBuilder a = new TarBuilder();
        Map<String, byte[]> aFiles = new LinkedHashMap<>();
        dirs(a, "usr/", "usr/lib/", "usr/lib/runtime/", "app/", "share/");
        files(a, aFiles, "usr/lib/runtime/", runtime, runtime.keySet());
        files(a, aFiles, "share/", Map.of("model.bin", model), List.of("model.bin"));
        files(a, aFiles, "app/", aOwn, aOwn.keySet());
        Image appA =
                new Image(
                        "app-a",
                        new TestImage(arch, List.of(TestImage.Layer.gzip(a.build()))),
                        new TreeMap<>(aFiles));

        // app-b: the runtime split over a zstd layer and a plain layer; its own files in the second
        // one
        TarBuilder b1 = new TarBuilder();
        TarBuilder b2 = new TarBuilder();
        Map<String, byte[]> bFiles = new LinkedHashMap<>();
        dirs(b1, "usr/", "usr/lib/", "usr/lib/runtime/");
        files(b1, bFiles, "usr/lib/runtime/", runtime, firstHalf);
        dirs(b2, "usr/", "usr/lib/", "usr/lib/runtime/", "app/");
        files(b2, bFiles, "usr/lib/runtime/", runtime, secondHalf);
        files(b2, bFiles, "app/", bOwn, bOwn.keySet());
        Image appB =
                new Image(
                        "app-b",
                        new TestImage(
                                arch,
                                List.of(
                                        TestImage.Layer.zstd(b1.build()),
                                        TestImage.Layer.plain(b2.build()))),
                        new TreeMap<>(bFiles));

        // app-c: its own files first (gzip), then the runtime and the model under opt/ (zstd)
        TarBuilder c1 = new TarBuilder();
        TarBuilder c2 = new TarBuilder();
        Map<String, byte[]> cFiles = new LinkedHashMap<>();
        dirs(c1, "srv/");
        files(c1, cFiles, "srv/", cOwn, cOwn.keySet());
        dirs(c2, "opt/", "opt/runtime/", "opt/runtime/lib/", "opt/models/");
        files(c2, cFiles, "opt/runtime/lib/", runtime, runtime.keySet());
        files(c2, cFiles, "opt/models/", Map.of("model.bin", model), List.of("model.bin"));
        Image appC =
                new Image(
                        "app-c",
                        new TestImage(
                                arch,
                                List.of(
                                        TestImage.Layer.gzip(c1.build()),
                                        TestImage.Layer.zstd(c2.build()))),
                        new TreeMap<>(cFiles));

        images = List.of(appA, appB, appC);
    }

    /** The store objects all images need together: one per distinct file content. */
    SortedMap<Digest, Long> uniqueObjects() {
        SortedMap<Digest, Long> out = new TreeMap<>();
        for (Image image : images) {
            for (byte[] body : image.files().values()) {
                out.put(FsVerity.digest(body), (long) body.length);
            }
        }
        return out;
    }

    /** The objects of the runtime files, which every image holds. */
    TreeSet<Digest> runtimeObjects() {
        TreeSet<Digest> out = new TreeSet<>();
        runtime.values().forEach(b -> out.add(FsVerity.digest(b)));
        return out;
    }

    long runtimeBytes() {
        return runtime.values().stream().mapToLong(b -> b.length).sum();
    }

    private static SortedMap<String, byte[]> own(String image, int count) {
        SortedMap<String, byte[]> out = new TreeMap<>();
        for (int i = 0; i < count; i++) {
            out.put(
                    image + "-" + i + ".bin",
                    random(image.charAt(0) * 100L + i, 100_000 + 50_000 * i));
        }
        return out;
    }

    private static void dirs(TarBuilder tar, String... dirs) {
        for (String d : dirs) {
            tar.entry(d).type('5').mode(0755).add();
        }
    }

    private static void files(
            TarBuilder tar,
            Map<String, byte[]> into,
            String dir,
            Map<String, byte[]> bodies,
            Collection<String> names) {
        for (String n : names) {
            tar.entry(dir + n).body(bodies.get(n)).mode(0644).add();
            into.put(dir + n, bodies.get(n));
        }
    }

    private static byte[] random(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }
}
