package dev.kcfs.pull;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.layout.OciLayoutDirectory;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.store.Store;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Stat;
import dev.kcfs.tree.Xattr;
import dev.kcfs.verity.FsVerity;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A failure at any stage of an import ends the import promptly with one error naming the problem,
 * and leaves the store usable: no lease, GC can take its lock at once, and the same importer (its
 * body workers and buffers) imports the next image.
 */
class ImportFailuresTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(60);

    /** Where the failure is injected. */
    enum Stage {
        /** The blob stream breaks while a file body is being handed to the body workers. */
        BLOB_READ,
        /** The gzip stream is corrupt. */
        DECOMPRESS,
        /** The tar stream has an entry the image cannot hold. */
        TAR_ENTRY,
        /** Moving the new objects into place fails (a file where the object directory must be). */
        OBJECT_COMMIT,
        /** Publishing the image fails after the writer and the store streamed it. */
        IMAGE_PUBLISH,
        /** Writing the ref fails. */
        REF
    }

    static Importer importer(Store store) {
        return new Importer(
                store,
                new RegistryClient(DockerConfig.empty(), true, 2, Duration.ofMillis(10)),
                new BodyPipeline(2, 1 << 20));
    }

    static byte[] layer() {
        return new TarBuilder().file("big", Fixtures.BIG).file("small", "x").build();
    }

    @ParameterizedTest
    @EnumSource(Stage.class)
    void failureAtEachStageEndsTheImportAndReleasesTheStore(Stage stage, @TempDir Path dir)
            throws Exception {
        Store store = Store.open(dir.resolve("store"));
        byte[] tar = layer();
        Layer layer = Layer.gzip(tar);
        String expected;
        Path obstacle = null;
        switch (stage) {
            case DECOMPRESS -> {
                byte[] blob = layer.blob().clone();
                Arrays.fill(blob, 20, 200, (byte) 0x55);
                layer = new Layer(layer.mediaType(), blob, tar);
                expected = "not valid gzip";
            }
            case TAR_ENTRY -> {
                byte[] hostile =
                        new TarBuilder()
                                .file("big", Fixtures.BIG)
                                .entry("d/n")
                                .pax("path", "d/" + "n".repeat(300))
                                .body("x")
                                .add()
                                .build();
                layer = Layer.gzip(hostile);
                expected = "name component of 300 bytes";
            }
            case OBJECT_COMMIT -> {
                String prefix = FsVerity.digest(Fixtures.BIG).hex().substring(0, 2);
                obstacle = store.objects().root().resolve(prefix);
                Files.writeString(obstacle, "in the way");
                expected = prefix;
            }
            case IMAGE_PUBLISH -> {
                obstacle = store.root().resolve("images");
                Files.delete(obstacle);
                Files.writeString(obstacle, "in the way");
                expected = "images";
            }
            case REF -> {
                obstacle = store.root().resolve("refs");
                Files.delete(obstacle);
                Files.writeString(obstacle, "in the way");
                expected = "refs";
            }
            default -> expected = "injected: connection reset";
        }
        TestImage image = new TestImage("amd64", List.of(layer));
        Path layout = dir.resolve("layout");
        image.writeLayout(layout, "t");
        Layer chosen = layer;
        try (Importer importer = importer(store)) {
            assertTimeoutPreemptively(
                    PROMPTLY,
                    () -> {
                        try (ImageSource source =
                                stage == Stage.BLOB_READ
                                        ? new BreakingSource(
                                                new OciLayoutDirectory(layout, "t"),
                                                chosen.blob().length / 2)
                                        : new OciLayoutDirectory(layout, "t")) {
                            assertThatThrownBy(
                                            () ->
                                                    importer.importImage(
                                                            source,
                                                            Platform.current(),
                                                            "app",
                                                            null))
                                    .isInstanceOf(IOException.class)
                                    .hasMessageContaining(expected);
                        }
                    });
            if (obstacle != null) {
                Files.delete(obstacle);
                Files.createDirectory(obstacle);
            }
            assertStoreReleased(store);
            // the same importer (workers, chunk pool) imports a good image right after
            TestImage good = new TestImage("amd64", List.of(Layer.gzip(layer())));
            good.writeLayout(dir.resolve("good"), "t");
            assertTimeoutPreemptively(
                    PROMPTLY,
                    () -> {
                        try (ImageSource source =
                                new OciLayoutDirectory(dir.resolve("good"), "t")) {
                            assertThat(
                                            importer.importImage(
                                                            source, Platform.current(), "app", null)
                                                    .imageDigest())
                                    .isNotNull();
                        }
                    });
        }
    }

    /** The writer rejecting the tree before its first byte used to leave the store reading forever. */
    @Test
    void imageWriterRejectingTheTreeEndsTheStoreSide(@TempDir Path dir) throws Exception {
        Store store = Store.open(dir.resolve("store"));
        for (Directory bad :
                List.of(
                        treeWithName(new byte[300]),
                        treeWithXattr(new byte[200_000]),
                        deepTree(3000))) {
            assertTimeoutPreemptively(
                    PROMPTLY,
                    () -> {
                        try (Store.Lease lease = store.lease("test")) {
                            assertThatThrownBy(
                                            () ->
                                                    Importer.writeImage(
                                                            store,
                                                            bad,
                                                            ErofsWriter.WriteOptions.pinned(1)))
                                    .isInstanceOf(IOException.class)
                                    .hasMessageContaining("cannot write the composefs image");
                        }
                    });
            assertStoreReleased(store);
            try (Stream<Path> s = Files.list(store.root().resolve("images"))) {
                assertThat(s).isEmpty();
            }
        }
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().equals("kcfs-image-writer"));
    }

    /** The config's diff_ids used to be ignored: a layer that is not the one the config names is refused. */
    @Test
    void layersMustMatchTheConfigsDiffIds(@TempDir Path dir) throws Exception {
        Store store = Store.open(dir.resolve("store"));
        byte[] tar = layer();
        byte[] other = new TarBuilder().file("other", "y").build();
        TestImage wrong =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(tar),
                                new Layer(
                                        Layer.gzip(tar).mediaType(),
                                        Layer.gzip(tar).blob(),
                                        other)));
        wrong.writeLayout(dir.resolve("wrong"), "t");
        try (Importer importer = importer(store);
                ImageSource source = new OciLayoutDirectory(dir.resolve("wrong"), "t")) {
            assertThatThrownBy(() -> importer.importImage(source, Platform.current(), "app", null))
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining(
                            "uncompressed content is " + dev.kcfs.oci.Digests.sha256(tar))
                    .hasMessageContaining(
                            "rootfs.diff_ids[1] says " + dev.kcfs.oci.Digests.sha256(other));
        }
        assertThat(store.refs()).isEmpty();
        assertStoreReleased(store);
        // a plain (uncompressed) layer is its own diff_id; the right ids import
        TestImage right = new TestImage("amd64", List.of(Layer.gzip(tar), Layer.plain(other)));
        right.writeLayout(dir.resolve("right"), "t");
        try (Importer importer = importer(store);
                ImageSource source = new OciLayoutDirectory(dir.resolve("right"), "t")) {
            assertThat(importer.importImage(source, Platform.current(), "app", null).layers())
                    .isEqualTo(2);
        }
    }

    /**
     * Layers as Go-based writers (umoci insert) leave them: no end-of-archive blocks, even the last
     * body's padding missing. Their digests check out, so they import like the complete tar.
     */
    @Test
    void layersWithoutTheirTrailerImport(@TempDir Path dir) throws Exception {
        byte[] body = Fixtures.random(5, 1000);
        byte[] noEnd = new TarBuilder().file("a", "1").file("b", body).buildWithoutEnd();
        byte[] noPadding = Arrays.copyOf(noEnd, 512 * 3 + body.length);
        byte[] complete = new TarBuilder().file("a", "1").file("b", body).build();
        Store store = Store.open(dir.resolve("store"));
        List<dev.kcfs.verity.Digest> images = new java.util.ArrayList<>();
        int n = 0;
        for (Layer layer :
                List.of(
                        Layer.plain(complete),
                        Layer.gzip(noEnd),
                        Layer.plain(noPadding),
                        Layer.zstd(noPadding))) {
            Path layout = dir.resolve("layout" + n++);
            new TestImage("amd64", List.of(layer)).writeLayout(layout, "t");
            try (Importer importer = importer(store);
                    ImageSource source = new OciLayoutDirectory(layout, "t")) {
                images.add(
                        importer.importImage(source, Platform.current(), null, null).imageDigest());
            }
        }
        assertThat(images).as("the same tree from every form").containsOnly(images.get(0));
    }

    private static void assertStoreReleased(Store store) throws Exception {
        try (Stream<Path> s = Files.list(store.root().resolve("leases"))) {
            assertThat(s).as("lease files").isEmpty();
        }
        assertThat(store.gc(true, Duration.ofSeconds(2)).ran()).as("GC gets its lock").isTrue();
    }

    private static Stat dirStat() {
        return new Stat(FileType.DIRECTORY.bits() | 0755, 0, 0, 2, 0, 0);
    }

    private static RegularFile file(List<Xattr> xattrs) {
        return new RegularFile(
                new Stat(FileType.REGULAR.bits() | 0644, 0, 0, 1, 0, 0),
                xattrs,
                1,
                null,
                new byte[] {'x'},
                null);
    }

    static Directory treeWithName(byte[] name) {
        Arrays.fill(name, (byte) 'n');
        Directory root = new Directory(dirStat(), List.of());
        root.put(name, file(List.of()));
        return root;
    }

    static Directory treeWithXattr(byte[] value) {
        Directory root = new Directory(dirStat(), List.of());
        root.put("f".getBytes(), file(List.of(new Xattr("user.big".getBytes(), value))));
        return root;
    }

    static Directory deepTree(int depth) {
        Directory root = new Directory(dirStat(), List.of());
        Directory d = root;
        for (int i = 0; i < depth; i++) {
            Directory next = new Directory(dirStat(), List.of());
            d.put("d".getBytes(), next);
            d = next;
        }
        return root;
    }

    /** A source whose layer blobs break after {@code limit} bytes, like a dropped connection. */
    private static final class BreakingSource implements ImageSource {
        private final ImageSource inner;
        private final long limit;

        BreakingSource(ImageSource inner, long limit) {
            this.inner = inner;
            this.limit = limit;
        }

        @Override
        public ImageManifest resolve(Platform platform) throws IOException {
            return inner.resolve(platform);
        }

        @Override
        public InputStream openBlob(Descriptor blob) throws IOException {
            return new FilterInputStream(inner.openBlob(blob)) {
                long count;

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (count >= limit) {
                        throw new IOException("injected: connection reset");
                    }
                    int n = super.read(b, off, (int) Math.min(len, limit - count));
                    if (n > 0) {
                        count += n;
                    }
                    return n;
                }
            };
        }

        @Override
        public String describe() {
            return inner.describe();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }
}
