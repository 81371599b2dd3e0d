package dev.kcfs.pull;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.MountOptions;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.pull.layer.TreeText;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.store.Store;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.FsVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class ImporterTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();

    static final TestImage IMAGE =
            new TestImage(
                    "amd64",
                    List.of(
                            Layer.gzip(Fixtures.base()),
                            Layer.zstd(Fixtures.middle()),
                            Layer.plain(Fixtures.top())));

    static Importer importer(Store store) {
        return new Importer(
                store,
                new RegistryClient(DockerConfig.empty(), true, 2, Duration.ofMillis(10)),
                new BodyPipeline(2, 4 << 20));
    }

    static long objectCount(Store store) throws Exception {
        try (Stream<Path> s = Files.walk(store.objects().root())) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    static long entries(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    static List<Path> tmpFiles(Store store) throws Exception {
        try (Stream<Path> s = Files.walk(store.root().resolve("tmp"))) {
            // tmp/.users is the store's writer lock file, not a leftover
            return s.filter(Files::isRegularFile)
                    .filter(f -> !f.getFileName().toString().equals(".users"))
                    .collect(Collectors.toList());
        }
    }

    @Test
    void aStoredImageIsPulledAgainFromItsManifestAlone(@TempDir Path dir) throws Exception {
        Path layout = dir.resolve("layout");
        IMAGE.writeLayout(layout, "v1");
        String ref = "oci:" + layout + ":v1";
        Store store = Store.open(dir.resolve("store"));
        Importer.Result first;
        try (Importer importer = importer(store)) {
            first = importer.pull(ref, Platform.current(), "app", null);
        }
        assertThat(first.storedLayers()).isZero();

        // with every layer blob gone from the source, a re-pull still succeeds: only the index and
        // the manifest are read, the image and its objects are the store's
        Path blobs = layout.resolve("blobs/sha256");
        Path saved = Files.createDirectories(dir.resolve("saved"));
        for (Layer l : IMAGE.layers) {
            String hex = Digests.sha256(l.blob()).substring(7);
            Files.move(blobs.resolve(hex), saved.resolve(hex));
        }
        Importer.Result again;
        Importer.Result v0;
        try (Importer importer = importer(store)) {
            again = importer.pull(ref, Platform.current(), "again", null);
            // another format version is another image: that one needs the layers
            assertThatThrownBy(() -> importer.pull(ref, Platform.current(), null, null, 0))
                    .hasMessageContaining("blob sha256:");
        }
        assertThat(again.imageDigest()).isEqualTo(first.imageDigest());
        assertThat(again.storedLayers()).isEqualTo(3);
        assertThat(again.bytesFetched()).isZero();
        assertThat(again.objectsAdded()).isZero();
        assertThat(again.pulls())
                .allSatisfy(p -> assertThat(p.describe()).startsWith("not fetched"));
        assertThat(store.ref("again")).contains(first.imageDigest());

        // an object of the image lost: the record no longer answers and the layers are needed
        var objects = store.objectList(first.imageDigest()).orElseThrow().digests();
        Files.delete(store.objects().path(objects.get(0)));
        try (Importer importer = importer(store)) {
            assertThatThrownBy(() -> importer.pull(ref, Platform.current(), null, null))
                    .hasMessageContaining("blob sha256:");
        }
        for (Layer l : IMAGE.layers) {
            String hex = Digests.sha256(l.blob()).substring(7);
            Files.move(saved.resolve(hex), blobs.resolve(hex));
        }
        Importer.Result repaired;
        try (Importer importer = importer(store)) {
            repaired = importer.pull(ref, Platform.current(), null, null);
        }
        assertThat(repaired.imageDigest()).isEqualTo(first.imageDigest());
        assertThat(repaired.storedLayers()).isZero();
        assertThat(repaired.objectsAdded()).isEqualTo(1);
        assertThat(store.fsck(true, 1).clean()).isTrue();

        // GC takes the record with the image
        Path records = store.root().resolve("index/manifests");
        assertThat(entries(records)).isEqualTo(1);
        store.removeRef("app");
        store.removeRef("again");
        store.gc(false, Duration.ofSeconds(5));
        assertThat(store.hasImage(first.imageDigest())).isFalse();
        assertThat(entries(records)).isZero();
    }

    @Test
    void formatVersionCanBeChosenPerPull(@TempDir Path dir) throws Exception {
        IMAGE.push(registry.pusher(), "importer/versions", "v1");
        String ref = registry.address() + "/importer/versions:v1";
        Store v0 = Store.open(dir.resolve("v0"));
        Store v1 = Store.open(dir.resolve("v1"));
        Importer.Result r0;
        Importer.Result r1;
        try (Importer importer = importer(v0)) {
            r0 = importer.pull(ref, Platform.current(), "app", null, 0);
        }
        try (Importer importer = importer(v1)) {
            r1 = importer.pull(ref, Platform.current(), "app", null);
        }
        assertThat(dev.kcfs.image.erofs.ErofsReader.read(v0.imagePath(r0.imageDigest())).version())
                .isZero();
        assertThat(dev.kcfs.image.erofs.ErofsReader.read(v1.imagePath(r1.imageDigest())).version())
                .isEqualTo(dev.kcfs.image.erofs.ErofsFormat.DEFAULT_FORMAT_VERSION);
        assertThat(r0.imageDigest()).isNotEqualTo(r1.imageDigest());
        assertThat(
                        TreeText.render(
                                dev.kcfs.image.erofs.ErofsReader.read(
                                                v0.imagePath(r0.imageDigest()))
                                        .root()))
                .isEqualTo(
                        TreeText.render(
                                dev.kcfs.image.erofs.ErofsReader.read(
                                                v1.imagePath(r1.imageDigest()))
                                        .root()));
    }

    @Test
    void pullStoresObjectsImageAndRefAndRepullWritesNothing(@TempDir Path dir) throws Exception {
        String digest = IMAGE.push(registry.pusher(), "importer/app", "v1");
        Store store = Store.open(dir.resolve("store"));
        List<String> events = new ArrayList<>();
        ImportProgress progress =
                new ImportProgress() {
                    @Override
                    public void layerDone(int index, int total, Descriptor layer, long fileBytes) {
                        try (Stream<Path> leases = Files.list(store.root().resolve("leases"))) {
                            events.add(index + "/" + total + " leases=" + leases.count());
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }
                };
        Importer.Result first;
        try (Importer importer = importer(store)) {
            first =
                    importer.pull(
                            registry.address() + "/importer/app:v1",
                            Platform.current(),
                            "app",
                            progress);
        }
        assertThat(events).containsExactly("0/3 leases=1", "1/3 leases=1", "2/3 leases=1");
        assertThat(first.manifestDigest()).isEqualTo(digest);
        assertThat(first.layers()).isEqualTo(3);
        assertThat(store.ref("app")).contains(first.imageDigest());
        assertThat(store.hasImage(first.imageDigest())).isTrue();
        assertThat(FsVerity.digest(store.imagePath(first.imageDigest())))
                .isEqualTo(first.imageDigest());
        // bodies > 64 bytes: BIG, MEDIUM (victim, opaque/old, data/shared share it), opaque/new
        assertThat(first.objectsAdded()).isEqualTo(3);
        assertThat(objectCount(store)).isEqualTo(3);
        assertThat(store.objects().contains(FsVerity.digest(Fixtures.BIG))).isTrue();
        assertThat(Files.readAllBytes(store.objects().path(FsVerity.digest(Fixtures.BIG))))
                .isEqualTo(Fixtures.BIG);
        assertThat(store.objectList(first.imageDigest()).orElseThrow().digests()).hasSize(3);
        assertThat(Files.list(store.root().resolve("leases")).count()).isZero();

        Importer.Result again;
        try (Importer importer = importer(store)) {
            again =
                    importer.pull(
                            registry.address() + "/importer/app@" + digest,
                            Platform.current(),
                            "app-pinned",
                            null);
        }
        assertThat(again.imageDigest()).isEqualTo(first.imageDigest());
        assertThat(again.objectsAdded()).isZero();
        assertThat(objectCount(store)).isEqualTo(3);
        assertThat(tmpFiles(store)).isEmpty();
    }

    @Test
    void imagesSharingFilesShareObjects(@TempDir Path dir) throws Exception {
        byte[] shared = Fixtures.random(10, 100_000);
        byte[] onlyA = Fixtures.random(11, 2_000);
        byte[] onlyB = Fixtures.random(12, 3_000);
        new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(
                                        new TarBuilder()
                                                .file("lib/shared.so", shared)
                                                .file("a", onlyA)
                                                .build())))
                .push(registry.pusher(), "share/a", "v1");
        new TestImage(
                        "amd64",
                        List.of(
                                Layer.zstd(
                                        new TarBuilder()
                                                .file("usr/lib/same.so", shared)
                                                .file("b", onlyB)
                                                .build())))
                .push(registry.pusher(), "share/b", "v1");
        Store store = Store.open(dir.resolve("store"));
        try (Importer importer = importer(store)) {
            Importer.Result a =
                    importer.pull(
                            registry.address() + "/share/a:v1", Platform.current(), "a", null);
            Importer.Result b =
                    importer.pull(
                            registry.address() + "/share/b:v1", Platform.current(), "b", null);
            assertThat(a.objectsAdded()).isEqualTo(2);
            assertThat(b.objectsAdded()).isEqualTo(1); // only b's own file
            assertThat(b.objectsPresent()).isEqualTo(1);
            assertThat(a.imageDigest()).isNotEqualTo(b.imageDigest());
        }
        assertThat(objectCount(store)).isEqualTo(3);
    }

    @Test
    void failedImportLeavesNoImageRefOrObject(@TempDir Path dir) throws Exception {
        // the first layer is fine (its bodies are written to the batch), the second is corrupt
        TestImage image =
                new TestImage(
                        "amd64", List.of(Layer.gzip(Fixtures.base()), Layer.plain(Fixtures.top())));
        image.writeLayout(dir.resolve("layout"), "v1");
        Path blob =
                dir.resolve(
                        "layout/blobs/sha256/"
                                + Digests.sha256(image.layers.get(1).blob()).substring(7));
        byte[] b = Files.readAllBytes(blob);
        b[2000] ^= 1;
        Files.write(blob, b);
        Store store = Store.open(dir.resolve("store"));
        try (Importer importer = importer(store)) {
            assertThatThrownBy(
                            () ->
                                    importer.pull(
                                            "oci:" + dir.resolve("layout") + ":v1",
                                            Platform.current(),
                                            "broken",
                                            null))
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining("digest mismatch");
        }
        assertThat(store.refs()).isEmpty();
        assertThat(store.images()).isEmpty();
        assertThat(objectCount(store)).isZero();
        assertThat(tmpFiles(store)).isEmpty();
        assertThat(Files.list(store.root().resolve("leases")).count()).isZero();
    }

    @Test
    void hostileLayerLeavesNothing(@TempDir Path dir) throws Exception {
        new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(
                                        new TarBuilder()
                                                .file("ok", Fixtures.BIG)
                                                .file("../escape", "x")
                                                .build())))
                .push(registry.pusher(), "importer/hostile", "v1");
        Store store = Store.open(dir.resolve("store"));
        try (Importer importer = importer(store)) {
            assertThatThrownBy(
                            () ->
                                    importer.pull(
                                            registry.address() + "/importer/hostile:v1",
                                            Platform.current(),
                                            "h",
                                            null))
                    .hasMessageContaining("'..' component");
        }
        assertThat(store.refs()).isEmpty();
        assertThat(store.images()).isEmpty();
        assertThat(objectCount(store)).isZero();
    }

    /** The mounted pull has exactly what umoci unpacks from the same image (gzip + plain: umoci 0.4.7 lacks zstd). */
    @Test
    @Tag("root")
    void mountedPullMatchesUmociUnpack(@TempDir Path dir) throws Exception {
        Root.assumeRoot();
        UmociComparisonTest.unpackFixtureWithUmoci(dir);
        Store store = Store.open(dir.resolve("store"));
        Importer.Result r;
        try (Importer importer = importer(store)) {
            r =
                    importer.pull(
                            "oci:" + dir.resolve("layout") + ":v1",
                            Platform.current(),
                            "app",
                            null);
        }
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        ComposefsMounter mounter = new ComposefsMounter();
        mounter.mount(
                store.imagePath(r.imageDigest()), mnt, MountOptions.of(store.objects().root()));
        try {
            DirectoryScanner scanner = new DirectoryScanner(DirectoryScanner.Options.defaults());
            String mounted = TreeText.renderFlat(scanner.scan(mnt).root());
            String umoci = TreeText.renderFlat(scanner.scan(dir.resolve("bundle/rootfs")).root());
            assertThat(UmociComparisonTest.normalise(mounted))
                    .isEqualTo(UmociComparisonTest.normalise(umoci));
            assertThat(Files.readAllBytes(mnt.resolve("bin/tool"))).isEqualTo(Fixtures.BIG);
            assertThat(Files.getAttribute(mnt.resolve("bin/tool-link"), "unix:ino"))
                    .isEqualTo(Files.getAttribute(mnt.resolve("bin/tool"), "unix:ino"));
        } finally {
            mounter.unmount(mnt, true);
        }
    }
}
