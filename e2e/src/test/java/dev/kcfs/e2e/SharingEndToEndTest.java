package dev.kcfs.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.SourceSpec;
import dev.kcfs.mount.MountTable;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.store.ErofsImageObjects;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kcfs end to end on one machine, every part real and in its own process: a {@code docker-registry}
 * holding three images that share files but no layers, an API server (the fabric8 mock, over HTTPS),
 * {@code bin/kcfs-operator} and {@code bin/kcfs-node} (CSI plugin + node agent) started from the
 * packaged jars, and this test as kubelet publishing volumes for six pods over the three images.
 *
 * <p>It checks what kcfs promises: pods see exactly the image files; each distinct file is one object
 * in the node store, backing every image that holds it; the pods' reads of a shared file land in one
 * copy in page cache; deleting the images frees the store. The figures go to
 * {@code target/sharing-report.txt}.
 */
@Tag("root")
class SharingEndToEndTest {
    private static final String NODE = "e2e-node";
    private static final int PODS = 6;
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration CONVERGE = Duration.ofSeconds(120);

    private final List<KcfsProcess> processes = new ArrayList<>();

    // what the steps share, in the order they are set
    private Path repo;
    private Path run;
    private TestRegistry registry;
    private FixtureImages fixtures;
    private final Map<String, String> pushed = new LinkedHashMap<>();
    private ApiServer cluster;
    private Kubelet kubelet;
    private Path kubeletDir;
    private Path store;
    private int metricsPort;
    private final Map<String, Digest> cfsDigests = new LinkedHashMap<>();
    private final List<Kubelet.Volume> volumes = new ArrayList<>();
    private final List<Double> publishMillis = new ArrayList<>();
    private long podLogical;
    private SortedMap<Digest, Long> unique;
    private SortedMap<Digest, Path> objects;
    private long storeBytes;
    private long storeDisk;
    private long imageFileBytes;
    private final List<Path> imageFiles = new ArrayList<>();
    private long perImagePages;
    private long cachedAfterFirst;
    private long cachedAfterAll;
    private long cachedDelta;
    private long bytesRead;

    @Test
    void podsOverImagesShareEachFileOnceOnDiskAndInPageCache() throws Throwable {
        Root.assumeRoot();
        assumeTrue(
                Files.isExecutable(Path.of(TestRegistry.BINARY)),
                TestRegistry.BINARY + " is not installed (Debian docker-registry)");
        assumeTrue(
                Files.isExecutable(Path.of("/usr/bin/fincore")),
                "fincore is not installed (Debian util-linux)");
        String repoDir = System.getProperty("kcfs.repo.dir");
        assumeTrue(repoDir != null, "run through Maven (e2e/run.sh): kcfs.repo.dir is not set");
        repo = Path.of(repoDir).toRealPath();
        run = Path.of(System.getProperty("kcfs.e2e.dir")).toAbsolutePath();
        clean(run);

        registry = TestRegistry.anonymous();
        try {
            pushThreeImagesThatShareFilesButNoLayers();
            startApiServerOperatorAndNodePlugin();
            applyImagesAndAwaitReadyWithNodeCounts();
            publishOneVolumePerPod();
            everyPodSeesExactlyItsImageFiles();
            theStoreHoldsOneObjectPerDistinctContent();
            podsReadingSharedFilesFillPageCacheOnce();
            writeSharingReportWithTheNodeMetrics();
            unpublishingAndDeletingTheImagesEmptiesTheStore();
        } catch (Throwable t) {
            for (KcfsProcess p : processes) {
                System.out.println("----- " + p.name + " (" + p.log + ") -----\n" + p.output());
            }
            throw t;
        } finally {
            if (kubelet != null) {
                kubelet.close();
            }
            for (KcfsProcess p : processes) {
                p.close();
            }
            detachAll(run);
            if (cluster != null) {
                cluster.close();
            }
            registry.stop();
        }
    }

    private void pushThreeImagesThatShareFilesButNoLayers() throws Exception {
        registry.start();
        fixtures = new FixtureImages();
        for (FixtureImages.Image image : fixtures.images) {
            pushed.put(
                    image.name(), image.oci().push(registry.pusher(), "e2e/" + image.name(), "v1"));
        }
    }

    private void startApiServerOperatorAndNodePlugin() throws Exception {
        cluster = ApiServer.start(run.resolve("api"));
        cluster.installCrds(repo.resolve("crds"));
        cluster.node(NODE, Map.of("kubernetes.io/hostname", NODE, "kcfs.dev/e2e", "true"));
        Map<String, String> env = Map.of("KUBECONFIG", cluster.kubeconfig.toString());

        startOperator(repo, run, registry, env);
        kubeletDir = Files.createDirectories(run.resolve("kubelet"));
        store = run.resolve("store");
        Path socket = socketPath(kubeletDir);
        metricsPort = freePort();
        KcfsProcess node =
                start(
                        repo,
                        "kcfs-node",
                        repo.resolve("csi-node/target/kcfs-csi-node.jar"),
                        List.of(
                                "--endpoint",
                                "unix://" + socket,
                                "--node-id",
                                NODE,
                                "--store",
                                store.toString(),
                                "--kubelet-dir",
                                kubeletDir.toString(),
                                "--plain-http-registry",
                                registry.address(),
                                "--metrics-port",
                                Integer.toString(metricsPort),
                                "--kubeconfig",
                                cluster.kubeconfig.toString()),
                        env,
                        run);
        kubelet = new Kubelet(kubeletDir, socket);
        kubelet.awaitReady(node, socket, START);
    }

    /** The admin applies the images; the operator pins them, the agent prebuilds them, the operator folds the report. */
    private void applyImagesAndAwaitReadyWithNodeCounts() throws Exception {
        for (FixtureImages.Image image : fixtures.images) {
            apply(cluster, image.name(), registry.address() + "/e2e/" + image.name() + ":v1");
        }
        for (FixtureImages.Image image : fixtures.images) {
            ComposefsImage ready =
                    awaitValue(
                            "ComposefsImage " + image.name() + " Ready",
                            CONVERGE,
                            () -> {
                                ComposefsImage ci =
                                        cluster.client
                                                .resources(ComposefsImage.class)
                                                .withName(image.name())
                                                .get();
                                Condition c =
                                        ci.getStatus() == null
                                                ? null
                                                : ci.getStatus().getConditions().stream()
                                                        .filter(x -> "Ready".equals(x.getType()))
                                                        .findFirst()
                                                        .orElse(null);
                                return c != null
                                                && "True".equals(c.getStatus())
                                                && ci.getStatus().getDigest() != null
                                                && ci.getStatus().getNodes() != null
                                                && ci.getStatus().getNodes().getReady() == 1
                                        ? ci
                                        : null;
                            });
            assertThat(ready.getStatus().getResolvedImage())
                    .as("pinned by manifest digest")
                    .isEqualTo(
                            registry.address()
                                    + "/e2e/"
                                    + image.name()
                                    + "@"
                                    + pushed.get(image.name()));
            assertThat(ready.getStatus().getFiles())
                    .as("files of %s", image.name())
                    .isGreaterThanOrEqualTo((long) image.files().size());
            assertThat(ready.getStatus().getBytes())
                    .as("logical bytes of %s", image.name())
                    .isEqualTo(image.bytes());
            assertThat(ready.getMetadata().getFinalizers())
                    .as("the operator's finalizer")
                    .isNotEmpty();
            cfsDigests.put(image.name(), Digest.parse(ready.getStatus().getDigest()));
        }
    }

    /** Kubelet publishes one inline volume per pod; pod i uses image i mod 3. */
    private void publishOneVolumePerPod() throws Exception {
        for (int i = 0; i < PODS; i++) {
            Kubelet.Volume v =
                    kubelet.volume(
                            "pod-" + i,
                            "tools",
                            fixtures.images.get(i % fixtures.images.size()).name());
            publishMillis.add(kubelet.publish(v) / 1e6);
            volumes.add(v);
        }
        MountTable mounts = MountTable.read();
        for (Kubelet.Volume v : volumes) {
            assertThat(mounts.isMountPoint(v.target())).as("%s is mounted", v.target()).isTrue();
        }
    }

    private void everyPodSeesExactlyItsImageFiles() throws IOException {
        for (Kubelet.Volume v : volumes) {
            FixtureImages.Image image = image(v.image());
            assertThat(regularFiles(v.target()))
                    .as("files in %s's volume (%s)", v.pod(), v.image())
                    .isEqualTo(image.files().keySet());
            for (Map.Entry<String, byte[]> f : image.files().entrySet()) {
                byte[] seen = Files.readAllBytes(v.target().resolve(f.getKey()));
                assertThat(seen)
                        .as("%s in %s (%s)", f.getKey(), v.pod(), v.image())
                        .isEqualTo(f.getValue());
            }
            assertThat(
                            Files.isWritable(v.target().resolve(image.files().firstKey()))
                                    && canWrite(v.target().resolve(image.files().firstKey())))
                    .as("read-only volume")
                    .isFalse();
            podLogical += image.bytes();
        }
    }

    /** One object per distinct file content, and every image refers to the same objects. */
    private void theStoreHoldsOneObjectPerDistinctContent() throws Exception {
        unique = fixtures.uniqueObjects();
        objects = storeObjects(store);
        assertThat(objects.keySet())
                .as("store objects = distinct file contents of all images")
                .isEqualTo(unique.keySet());
        for (Map.Entry<Digest, Path> o : objects.entrySet()) {
            assertThat(Files.size(o.getValue()))
                    .as("size of %s", o.getValue())
                    .isEqualTo(unique.get(o.getKey()));
            assertThat((Integer) Files.getAttribute(o.getValue(), "unix:nlink"))
                    .as("links of %s", o.getValue())
                    .isEqualTo(1);
            storeBytes += Files.size(o.getValue());
        }
        storeDisk = allocated(objects.values());
        Set<Digest> runtime = fixtures.runtimeObjects();
        for (FixtureImages.Image image : fixtures.images) {
            Path cfs = store.resolve("images").resolve(cfsDigests.get(image.name()).hex() + ".cfs");
            assertThat(cfs)
                    .as("the EROFS image of %s named by the digest in its status", image.name())
                    .isRegularFile();
            imageFiles.add(cfs);
            imageFileBytes += Files.size(cfs);
            Set<Digest> referenced = new TreeSet<>(new ErofsImageObjects().read(cfs).digests());
            Set<Digest> own = new TreeSet<>();
            image.files().values().forEach(b -> own.add(FsVerity.digest(b)));
            assertThat(referenced).as("objects %s's image refers to", image.name()).isEqualTo(own);
            assertThat(referenced)
                    .as("%s refers to the shared runtime objects", image.name())
                    .containsAll(runtime);
        }
    }

    /** Evict the objects, read through the pods, and measure how much of the objects is resident. */
    private void podsReadingSharedFilesFillPageCacheOnce() throws Exception {
        List<Path> objectPaths = new ArrayList<>(objects.values());
        long uniquePages = unique.values().stream().mapToLong(PageCache::pages).sum();
        PageCache.evict(objectPaths);
        long evicted = PageCache.residentTotal(objectPaths);
        assertThat(evicted)
                .as(
                        "page cache of the store objects after posix_fadvise(DONTNEED); the store is on %s, page-cache figures need a"
                                + " disk filesystem (not tmpfs) under e2e/target",
                        Files.getFileStore(store).type())
                .isLessThan(uniquePages / 20);

        long cachedBefore = meminfoCached();
        Kubelet.Volume first = volumes.get(0);
        for (String f : image(first.image()).files().keySet()) {
            bytesRead += PageCache.readThrough(first.target().resolve(f));
        }
        cachedAfterFirst = PageCache.residentTotal(objectPaths);
        long firstPages =
                image(first.image()).files().values().stream()
                        .mapToLong(b -> PageCache.pages(b.length))
                        .sum();
        assertThat(cachedAfterFirst)
                .as("page cache of the objects after %s read %s", first.pod(), first.image())
                .isBetween(firstPages * 95 / 100, firstPages);
        // the other images' runtime files are now cached too, without anyone reading them: same
        // pages
        Set<Digest> runtime = fixtures.runtimeObjects();
        for (Kubelet.Volume other : volumes.subList(1, fixtures.images.size())) {
            FixtureImages.Image img = image(other.image());
            List<Path> runtimeFiles =
                    img.files().entrySet().stream()
                            .filter(e -> runtime.contains(FsVerity.digest(e.getValue())))
                            .map(e -> other.target().resolve(e.getKey()))
                            .collect(Collectors.toList());
            assertThat(runtimeFiles).hasSize(FixtureImages.RUNTIME_FILES);
            assertThat(PageCache.residentTotal(runtimeFiles))
                    .as(
                            "cached runtime files of %s, seen in %s, never read there",
                            other.image(), other.pod())
                    .isEqualTo(
                            fixtures.runtime.values().stream()
                                    .mapToLong(b -> PageCache.pages(b.length))
                                    .sum());
        }
        for (Kubelet.Volume v : volumes) {
            for (String f : image(v.image()).files().keySet()) {
                bytesRead += PageCache.readThrough(v.target().resolve(f));
            }
        }
        cachedAfterAll = PageCache.residentTotal(objectPaths);
        cachedDelta = meminfoCached() - cachedBefore;
        perImagePages =
                fixtures.images.stream()
                        .flatMap(i -> i.files().values().stream())
                        .mapToLong(b -> PageCache.pages(b.length))
                        .sum();
        assertThat(cachedAfterAll)
                .as("page cache of the objects after every pod read every file: one copy of each")
                .isBetween(uniquePages * 95 / 100, uniquePages);
        assertThat(cachedAfterAll)
                .as("less than a copy per image")
                .isLessThan(perImagePages * 6 / 10);
    }

    /** The node plugin's own view (its metrics) and the figures, into {@code kcfs.e2e.report}. */
    private void writeSharingReportWithTheNodeMetrics() throws Exception {
        long imagePageCache = PageCache.residentTotal(imageFiles);
        String metrics =
                awaitValue(
                        "node metrics with the store figures",
                        CONVERGE,
                        () -> {
                            String m = scrape(metricsPort);
                            return gauge(m, "kcfs_store_objects") == unique.size()
                                            && gauge(m, "kcfs_mounts{kind=\"volume\"}") == PODS
                                    ? m
                                    : null;
                        });
        String storeMetrics =
                metrics.lines()
                        .filter(l -> l.startsWith("kcfs_store_") || l.startsWith("kcfs_mounts"))
                        .collect(Collectors.joining("\n"));

        SharingReport report =
                new SharingReport(
                        PODS,
                        fixtures.images.stream()
                                .map(FixtureImages.Image::name)
                                .collect(Collectors.toList()),
                        podLogical,
                        fixtures.images.stream().mapToLong(FixtureImages.Image::bytes).sum(),
                        objects.size(),
                        storeBytes,
                        storeDisk,
                        imageFileBytes,
                        perImagePages,
                        cachedAfterAll,
                        cachedAfterFirst,
                        imagePageCache,
                        bytesRead,
                        cachedDelta,
                        publishMillis,
                        storeMetrics);
        String text = report.format();
        System.out.println(text);
        Path reportFile = Path.of(System.getProperty("kcfs.e2e.report"));
        Files.createDirectories(reportFile.getParent());
        Files.writeString(reportFile, text);
    }

    /** Pods go (unpublish); then the images go: the finalizer, the agent's drop, GC. */
    private void unpublishingAndDeletingTheImagesEmptiesTheStore() throws Exception {
        for (Kubelet.Volume v : volumes) {
            kubelet.unpublish(v);
        }
        MountTable after = MountTable.read();
        assertThat(
                        after.entries().stream()
                                .filter(e -> e.mountPoint().startsWith(kubeletDir))
                                .collect(Collectors.toList()))
                .as("mounts left under the kubelet dir")
                .isEmpty();
        for (FixtureImages.Image image : fixtures.images) {
            cluster.client.resources(ComposefsImage.class).withName(image.name()).delete();
        }
        for (FixtureImages.Image image : fixtures.images) {
            awaitValue(
                    "ComposefsImage " + image.name() + " gone (finalizer released)",
                    CONVERGE,
                    () ->
                            cluster.client
                                                    .resources(ComposefsImage.class)
                                                    .withName(image.name())
                                                    .get()
                                            == null
                                    ? true
                                    : null);
        }
        awaitValue(
                "store emptied by GC",
                CONVERGE,
                () ->
                        storeObjects(store).isEmpty()
                                        && list(store.resolve("images")).isEmpty()
                                        && list(store.resolve("refs")).isEmpty()
                                ? true
                                : null);
        ComposefsNode cn =
                awaitValue(
                        "node report without images",
                        CONVERGE,
                        () -> {
                            ComposefsNode n =
                                    cluster.client
                                            .resources(ComposefsNode.class)
                                            .withName(NODE)
                                            .get();
                            return n != null
                                            && n.getStatus() != null
                                            && n.getStatus().getImages().isEmpty()
                                    ? n
                                    : null;
                        });
        assertThat(cn.getStatus().getLastGC()).as("lastGC in the node report").isNotNull();
        assertThat(
                        MountTable.read().entries().stream()
                                .filter(e -> e.mountPoint().startsWith(store))
                                .collect(Collectors.toList()))
                .as("shared image mounts left in the store")
                .isEmpty();
        for (KcfsProcess p : processes) {
            p.assertAlive();
        }
    }

    private void startOperator(Path repo, Path run, TestRegistry registry, Map<String, String> env)
            throws Exception {
        // --no-server-side-apply: the fabric8 mock answers an apply patch with 415
        KcfsProcess operator =
                start(
                        repo,
                        "kcfs-operator",
                        repo.resolve("operator/target/kcfs-operator.jar"),
                        List.of(
                                "--no-leader-election",
                                "--no-server-side-apply",
                                "--metrics-address",
                                "127.0.0.1:" + freePort(),
                                "--plain-http-registry",
                                registry.address(),
                                "--release-timeout",
                                "PT2M"),
                        env,
                        run);
        operator.assertAlive();
    }

    private KcfsProcess start(
            Path repo,
            String launcher,
            Path jar,
            List<String> args,
            Map<String, String> env,
            Path run)
            throws IOException {
        KcfsProcess p =
                KcfsProcess.start(
                        repo,
                        launcher,
                        jar,
                        args,
                        env,
                        run.resolve("logs").resolve(launcher + ".log"),
                        run.resolve("tmp").resolve(launcher));
        processes.add(p);
        return p;
    }

    private static void apply(ApiServer api, String name, String image) {
        ComposefsImage ci = new ComposefsImage();
        ci.setMetadata(new ObjectMetaBuilder().withName(name).build());
        ComposefsImageSpec spec = new ComposefsImageSpec();
        spec.setSource(new SourceSpec(image));
        spec.setNodeSelector(
                new LabelSelectorBuilder().addToMatchLabels("kcfs.dev/e2e", "true").build());
        ci.setSpec(spec);
        api.client.resource(ci).create();
    }

    /** Polls until {@code probe} gives a value, failing early (with their logs) when a kcfs process died. */
    private <T> T awaitValue(String what, Duration timeout, Callable<T> probe) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (true) {
            for (KcfsProcess p : processes) {
                p.assertAlive();
            }
            try {
                T v = probe.call();
                if (v != null) {
                    return v;
                }
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "timed out after "
                                + timeout
                                + " waiting for "
                                + what
                                + (last == null ? "" : " (last error: " + last + ")"));
            }
            Thread.sleep(200);
        }
    }

    private FixtureImages.Image image(String name) {
        return fixtures.images.stream()
                .filter(i -> i.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    /** The kubelet convention (plugins/csi.kcfs.dev/csi.sock) unless the path is too long for a Unix socket. */
    private static Path socketPath(Path kubeletDir) throws IOException {
        Path p = kubeletDir.resolve("plugins/csi.kcfs.dev/csi.sock");
        if (p.toString().length() < 100) {
            Files.createDirectories(p.getParent());
            return p;
        }
        return Files.createTempDirectory("kcfs-e2e").resolve("csi.sock");
    }

    private static Set<String> regularFiles(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile)
                    .map(p -> root.relativize(p).toString())
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static boolean canWrite(Path file) {
        try (var ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** objects/ab/cdef… of the store, by digest. */
    private static SortedMap<Digest, Path> storeObjects(Path store) throws IOException {
        SortedMap<Digest, Path> out = new TreeMap<>();
        for (Path prefix : list(store.resolve("objects"))) {
            for (Path f : list(prefix)) {
                out.put(Digest.fromObjectPath(prefix.getFileName() + "/" + f.getFileName()), f);
            }
        }
        return out;
    }

    private static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().collect(Collectors.toList());
        }
    }

    /** Bytes the files take on disk (du: allocated blocks, not apparent sizes). */
    private static long allocated(Collection<Path> files) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("du", "--block-size=1", "--total"));
        files.forEach(f -> command.add(f.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines =
                new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                        .lines()
                        .collect(Collectors.toList());
        if (p.waitFor() != 0 || lines.isEmpty() || !lines.get(lines.size() - 1).endsWith("total")) {
            throw new IOException("du failed: " + String.join("\n", lines));
        }
        return Long.parseLong(lines.get(lines.size() - 1).split("\\s+")[0]);
    }

    private static long meminfoCached() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith("Cached:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    private static String scrape(int port) throws IOException, InterruptedException {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    /** A sample's value from Prometheus text, by name with its labels as printed; -1 when absent. */
    private static double gauge(String text, String sample) {
        Matcher m =
                Pattern.compile("^" + Pattern.quote(sample) + " (\\S+)$", Pattern.MULTILINE)
                        .matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    /** Detaches whatever a failed run left mounted under its directory, deepest first. */
    private static void detachAll(Path run) throws IOException, InterruptedException {
        for (int round = 0; round < 8; round++) {
            List<Path> left =
                    MountTable.read().entries().stream()
                            .map(MountTable.Entry::mountPoint)
                            .filter(p -> p.startsWith(run))
                            .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
                            .collect(Collectors.toList());
            if (left.isEmpty()) {
                return;
            }
            for (Path p : left) {
                new ProcessBuilder("umount", "-l", p.toString()).inheritIO().start().waitFor();
            }
        }
    }

    /** A previous run's directory: detach its mounts, then delete it. */
    private static void clean(Path run) throws IOException, InterruptedException {
        detachAll(run);
        if (Files.exists(run)) {
            try (Stream<Path> s = Files.walk(run)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                    Files.deleteIfExists(p);
                }
            }
        }
        Files.createDirectories(run);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
