package dev.kcfs.pull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdOutputStream;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.RegistryPusher;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.store.Store;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Import throughput from a real local registry (not a test; run by hand, or with {@code bench/oci-import.sh}):
 * <pre>
 * ./mvnw -q -B -o -pl core test-compile
 * java -Xmx512m -cp "$(cat core/target/bench.cp):core/target/classes:core/target/test-classes" \
 *      dev.kcfs.pull.ImportBenchmark WORKDIR GIB LAYERS
 * </pre>
 * ({@code core/target/bench.cp}: {@code ./mvnw -q -B -o -pl core dependency:build-classpath
 * -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test}). Builds one image of GIB GiB of
 * text-like files (compresses ~3:1, file sizes from 100 B to 64 MiB) as gzip layers and the same as
 * zstd layers, pushes both to a docker-registry on 127.0.0.1, then imports each into an empty store
 * and once more into the filled store. Prints uncompressed tar bytes per second and the peak heap.
 */
public final class ImportBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ImportBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "target/import-bench");
        double gib = args.length > 1 ? Double.parseDouble(args[1]) : 2;
        int layers = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        Files.createDirectories(work);
        TestRegistry registry = TestRegistry.anonymous();
        registry.start();
        try {
            long perLayer = (long) (gib * (1L << 30) / layers);
            for (String compression : List.of("gzip", "zstd")) {
                List<String[]> blobs = new ArrayList<>(); // {digest, size, diffId, uncompressed}
                long t0 = System.nanoTime();
                for (int i = 0; i < layers; i++) {
                    blobs.add(
                            writeLayer(
                                    work.resolve(compression + "-" + i),
                                    compression,
                                    perLayer,
                                    1000 + i));
                }
                System.out.printf(
                        "%s: generated %d layers in %.1f s%n",
                        compression, layers, (System.nanoTime() - t0) / 1e9);
                push(registry.pusher(), "bench/" + compression, work, compression, blobs);
                long tarBytes = blobs.stream().mapToLong(b -> Long.parseLong(b[3])).sum();
                for (String run : List.of("empty store", "re-pull")) {
                    Path storeDir = work.resolve("store-" + compression);
                    if (run.equals("empty store")) {
                        deleteTree(storeDir);
                        new ProcessBuilder("sync").start().waitFor();
                    }
                    Store store = Store.open(storeDir);
                    HeapWatch heap = new HeapWatch();
                    heap.start();
                    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
                    com.sun.management.OperatingSystemMXBean os =
                            (com.sun.management.OperatingSystemMXBean)
                                    ManagementFactory.getOperatingSystemMXBean();
                    long cpu0 = os.getProcessCpuTime();
                    long main0 = threads.getCurrentThreadCpuTime();
                    long start = System.nanoTime();
                    Importer.Result r;
                    double streamedSeconds;
                    try (Importer importer =
                            new Importer(
                                    store,
                                    new RegistryClient(
                                            DockerConfig.empty(), true, 3, Duration.ofMillis(100)),
                                    new BodyPipeline(2, 32L << 20))) {
                        long[] streamed = new long[1];
                        r =
                                importer.pull(
                                        registry.address() + "/bench/" + compression + ":v1",
                                        Platform.current(),
                                        "bench",
                                        new ImportProgress() {
                                            @Override
                                            public void layerDone(
                                                    int index,
                                                    int total,
                                                    Descriptor layer,
                                                    long fileBytes) {
                                                streamed[0] = System.nanoTime();
                                            }
                                        });
                        streamedSeconds = (streamed[0] - start) / 1e9;
                    }
                    double s = (System.nanoTime() - start) / 1e9;
                    double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
                    double mainCpu = (threads.getCurrentThreadCpuTime() - main0) / 1e9;
                    heap.stop = true;
                    heap.join();
                    System.out.printf(
                            "%s, %s: layers streamed, hashed and written in %.2f s = %.0f MB/s; then commit (fsync/syncfs) + image%n",
                            compression, run, streamedSeconds, tarBytes / streamedSeconds / 1e6);
                    System.out.printf(
                            "%s, %s: %.2f GiB tar (%.2f GiB compressed) in %.2f s = %.0f MB/s uncompressed; "
                                    + "CPU %.2f s (inflate+parse thread %.2f s = %.0f MB/s per CPU-second on the critical path); "
                                    + "objects added %d, present %d; peak heap %.0f MiB; image %s%n",
                            compression,
                            run,
                            tarBytes / (double) (1L << 30),
                            r.layerBytes() / (double) (1L << 30),
                            s,
                            tarBytes / s / 1e6,
                            cpu,
                            mainCpu,
                            tarBytes / mainCpu / 1e6,
                            r.objectsAdded(),
                            r.objectsPresent(),
                            heap.peak / 1048576.0,
                            r.imageDigest());
                }
            }
        } finally {
            registry.stop();
        }
    }

    private static final String[] WORDS =
            ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
                            + "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
                            + "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat "
                            + "nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim "
                            + "id est laborum 0x7f454c46 __libc_start_main GLIBC_2.34 .text .rodata .eh_frame malloc free memcpy")
                    .split(" ");

    /** Writes a layer blob; returns {digest, size, diffId, uncompressed size}. */
    private static String[] writeLayer(Path file, String compression, long target, long seed)
            throws Exception {
        Path meta = file.resolveSibling(file.getFileName() + "." + target + ".meta");
        if (Files.exists(
                meta)) { // generating (compressing) is slow: reuse layers of an earlier run
            return Files.readString(meta).split(" ");
        }
        String[] result = generateLayer(file, compression, target, seed);
        Files.writeString(meta, String.join(" ", result));
        return result;
    }

    private static String[] generateLayer(Path file, String compression, long target, long seed)
            throws Exception {
        Random r = new Random(seed);
        MessageDigest blobSha = MessageDigest.getInstance("SHA-256");
        MessageDigest tarSha = MessageDigest.getInstance("SHA-256");
        long[] tarCount = new long[1];
        try (OutputStream fileOut =
                new DigestOutputStream(
                        new BufferedOutputStream(Files.newOutputStream(file), 1 << 20), blobSha)) {
            OutputStream comp =
                    compression.equals("gzip")
                            ? new GZIPOutputStream(fileOut, 1 << 16)
                            : new ZstdOutputStream(fileOut, 3);
            OutputStream counting =
                    new FilterOutputStream(new DigestOutputStream(comp, tarSha)) {
                        @Override
                        public void write(byte[] b, int off, int len) throws IOException {
                            out.write(b, off, len);
                            tarCount[0] += len;
                        }
                    };
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(counting, 1 << 16)) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                long written = 0;
                int n = 0;
                byte[] buf = new byte[1 << 20];
                while (written < target) {
                    // log-uniform sizes between 100 B and 64 MiB: many small files, most bytes in
                    // big ones
                    long size =
                            Math.min(
                                    target - written + 1,
                                    (long)
                                            Math.exp(
                                                    Math.log(100)
                                                            + r.nextDouble()
                                                                    * (Math.log(64 << 20)
                                                                            - Math.log(100))));
                    TarArchiveEntry e = new TarArchiveEntry("d" + (n % 50) + "/f" + n);
                    e.setSize(size);
                    e.setModTime(1_700_000_000_000L);
                    tar.putArchiveEntry(e);
                    long left = size;
                    while (left > 0) {
                        int len = fill(buf, (int) Math.min(buf.length, left), r);
                        tar.write(buf, 0, len);
                        left -= len;
                    }
                    tar.closeArchiveEntry();
                    written += size;
                    n++;
                }
            }
        }
        return new String[] {
            "sha256:" + HexFormat.of().formatHex(blobSha.digest()),
            String.valueOf(Files.size(file)),
            "sha256:" + HexFormat.of().formatHex(tarSha.digest()),
            String.valueOf(tarCount[0])
        };
    }

    private static int fill(byte[] buf, int len, Random r) {
        int i = 0;
        while (i < len) {
            byte[] w = WORDS[r.nextInt(WORDS.length)].getBytes();
            for (int j = 0; j < w.length && i < len; j++) {
                buf[i++] = w[j];
            }
            if (i < len) {
                buf[i++] = (byte) (r.nextInt(8) == 0 ? '\n' : ' ');
            }
            if (r.nextInt(16) == 0 && i + 4 < len) { // some binary noise so it is not pure text
                buf[i++] = (byte) r.nextInt();
                buf[i++] = (byte) r.nextInt();
            }
        }
        return len;
    }

    private static void push(
            RegistryPusher p, String repo, Path work, String compression, List<String[]> blobs)
            throws Exception {
        ObjectNode cfg =
                JSON.createObjectNode()
                        .put("architecture", Platform.current().architecture())
                        .put("os", "linux");
        ArrayNode diffIds = cfg.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        blobs.forEach(b -> diffIds.add(b[2]));
        byte[] config = JSON.writeValueAsBytes(cfg);
        String configDigest = p.blob(repo, config);
        ObjectNode m =
                JSON.createObjectNode()
                        .put("schemaVersion", 2)
                        .put("mediaType", Manifests.OCI_MANIFEST);
        m.putObject("config")
                .put("mediaType", "application/vnd.oci.image.config.v1+json")
                .put("digest", configDigest)
                .put("size", config.length);
        ArrayNode ls = m.putArray("layers");
        for (int i = 0; i < blobs.size(); i++) {
            p.blob(repo, work.resolve(compression + "-" + i), blobs.get(i)[0]);
            ls.addObject()
                    .put("mediaType", "application/vnd.oci.image.layer.v1.tar+" + compression)
                    .put("digest", blobs.get(i)[0])
                    .put("size", Long.parseLong(blobs.get(i)[1]));
        }
        p.manifest(repo, "v1", Manifests.OCI_MANIFEST, JSON.writeValueAsBytes(m));
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Samples used heap every 20 ms; the peak is an upper bound of the live set between collections. */
    private static final class HeapWatch extends Thread {
        volatile boolean stop;
        long peak;

        HeapWatch() {
            setDaemon(true);
        }

        @Override
        public void run() {
            while (!stop) {
                long used = 0;
                for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                    if (pool.getType() == MemoryType.HEAP) {
                        used += pool.getUsage().getUsed();
                    }
                }
                peak = Math.max(peak, used);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
