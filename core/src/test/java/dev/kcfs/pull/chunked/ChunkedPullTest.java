package dev.kcfs.pull.chunked;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TamperingProxy;
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
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partial pulls of zstd:chunked layers made by skopeo, from a real docker-registry and from OCI
 * layouts: the same composefs digest as a full pull, only missing bodies fetched, fallbacks, and
 * every kind of bad input refused with nothing stored.
 */
class ChunkedPullTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();
    @TempDir static Path dir;
    static Path layoutA;
    static Path layoutB;

    /** 30 files of 20 KB under {@code prefix}, seeds {@code from..to-1}. */
    static byte[] libs(String prefix, int from, int to, int extraSeed) {
        TarBuilder t = new TarBuilder().entry(prefix + "/").type('5').mode(0755).add();
        for (int i = from; i < to; i++) {
            t.entry(prefix + "/lib" + i + ".so")
                    .body(Fixtures.random(100 + i, 20_000))
                    .mode(0755)
                    .add();
        }
        if (extraSeed > 0) {
            for (int i = 0; i < 3; i++) {
                t.entry(prefix + "/new" + i).body(Fixtures.random(extraSeed + i, 20_000)).add();
            }
        }
        return t.build();
    }

    static TestImage imageA() {
        return new TestImage(
                "amd64",
                List.of(Layer.plain(Fixtures.base()), Layer.plain(libs("usr/lib", 0, 30, 0))));
    }

    /** Shares base and 27 of A's libraries (moved, in another layer), adds whiteouts, hardlinks, odd names. */
    static TestImage imageB() {
        return new TestImage(
                "amd64",
                List.of(
                        Layer.plain(Fixtures.base()),
                        Layer.plain(Fixtures.middle()),
                        Layer.plain(libs("opt/lib", 0, 27, 900)),
                        Layer.plain(Fixtures.top())));
    }

    @BeforeAll
    static void images() throws Exception {
        ChunkedImages.assumeSkopeo();
        layoutA = ChunkedImages.convert(imageA(), dir.resolve("a"));
        layoutB = ChunkedImages.convert(imageB(), dir.resolve("b"));
        ChunkedImages.push(layoutA, registry.pusher(), "chunked/a", "v1");
        ChunkedImages.push(layoutB, registry.pusher(), "chunked/b", "v1");
    }

    static RegistryClient client() {
        return new RegistryClient(DockerConfig.empty(), true, 2, Duration.ofMillis(10));
    }

    static Importer.Result pull(Store store, String ref, boolean partial) throws Exception {
        return pull(store, ref, partial, client());
    }

    static Importer.Result pull(Store store, String ref, boolean partial, RegistryClient client)
            throws Exception {
        try (Importer importer =
                new Importer(store, client, new BodyPipeline(2, 4 << 20), partial)) {
            return importer.pull(ref, Platform.parse("linux/amd64"), "r", ImportProgress.NONE);
        }
    }

    @Test
    void skopeoWritesWhatThePartialPullReads() throws Exception {
        JsonNode layer =
                com.fasterxml.jackson.databind.json.JsonMapper.builder()
                        .build()
                        .readTree(ChunkedImages.manifestBytes(layoutB))
                        .get("layers")
                        .get(0);
        assertThat(layer.get("mediaType").asText())
                .isEqualTo("application/vnd.oci.image.layer.v1.tar+zstd");
        assertThat(
                        layer.get("annotations")
                                .get("io.containers.zstd-chunked.manifest-position")
                                .asText())
                .matches("\\d+:\\d+:\\d+:1");
    }

    @Test
    void partialPullGivesTheFullPullsDigestAndFetchesOnlyWhatTheStoreLacks() throws Exception {
        String a = registry.address() + "/chunked/a:v1";
        String b = registry.address() + "/chunked/b:v1";
        Importer.Result full = pull(Store.open(dir.resolve("full")), b, false);
        assertThat(full.partialLayers()).isZero();
        assertThat(full.pulls())
                .allSatisfy(p -> assertThat(p.reason()).isEqualTo("partial pulls off"));
        assertThat(full.bytesFetched()).isEqualTo(full.layerBytes());

        Store store = Store.open(dir.resolve("partial"));
        Importer.Result coldA = pull(store, a, true);
        assertThat(coldA.partialLayers()).isEqualTo(2);
        Importer.Result partial = pull(store, b, true);
        assertThat(partial.imageDigest()).isEqualTo(full.imageDigest());
        assertThat(partial.partialLayers()).isEqualTo(4);
        // the base layer and 27 libraries came from the store; only B's own bodies and headers went
        // over the wire
        assertThat(partial.pulls().get(0).filesFetched())
                .isLessThanOrEqualTo(3); // the inline-sized bodies only
        assertThat(partial.pulls().get(2).filesPresent()).isEqualTo(27);
        assertThat(partial.pulls().get(2).filesFetched()).isEqualTo(3);
        long libsLayer = partial.pulls().get(2).layerBytes();
        assertThat(partial.pulls().get(2).bytesFetched()).isLessThan(libsLayer / 5);
        assertThat(partial.bytesFetched()).isLessThan(full.bytesFetched() / 2);
        assertThat(store.fsck(true, 1).clean()).isTrue();

        // a re-pull of a stored image fetches the manifest only: the store knows what it became
        Importer.Result stored = pull(store, b, true);
        assertThat(stored.imageDigest()).isEqualTo(full.imageDigest());
        assertThat(stored.storedLayers()).isEqualTo(4);
        assertThat(stored.bytesFetched()).isZero();
        assertThat(stored.objectsAdded()).isZero();
        assertThat(stored.objectsPresent()).isPositive();

        // without that record, a re-pull fetches the tables of contents, tar headers and
        // inline-sized bodies only (in tiny layers small stored bodies between them are fetched
        // too: cheaper than another request)
        forgetManifests(store);
        Importer.Result again = pull(store, b, true);
        assertThat(again.imageDigest()).isEqualTo(full.imageDigest());
        assertThat(again.storedLayers()).isZero();
        assertThat(again.objectsAdded()).isZero();
        assertThat(again.pulls()).allSatisfy(p -> assertThat(p.filesPresent()).isPositive());
        assertThat(again.pulls().get(2).filesFetched()).isZero();
        assertThat(again.bytesFetched()).isLessThan(again.layerBytes() / 20);

        // an OCI layout is read at offsets: the same image, from the same store, again partially
        forgetManifests(store);
        Importer.Result fromLayout;
        try (Importer importer =
                new Importer(store, client(), new BodyPipeline(2, 4 << 20), true)) {
            fromLayout =
                    importer.pull(
                            "oci:" + layoutB + ":t",
                            Platform.parse("linux/amd64"),
                            null,
                            ImportProgress.NONE);
        }
        assertThat(fromLayout.imageDigest()).isEqualTo(full.imageDigest());
        assertThat(fromLayout.partialLayers()).isEqualTo(4);
        assertThat(fromLayout.bytesFetched()).isEqualTo(again.bytesFetched());
    }

    @Test
    void coldPartialPullStoresTheSameAsAFullPull() throws Exception {
        String b = registry.address() + "/chunked/b:v1";
        Importer.Result full = pull(Store.open(dir.resolve("cold-full")), b, false);
        Store store = Store.open(dir.resolve("cold"));
        Importer.Result cold = pull(store, b, true);
        assertThat(cold.imageDigest()).isEqualTo(full.imageDigest());
        assertThat(cold.objectsAdded()).isEqualTo(full.objectsAdded());
        assertThat(cold.partialLayers()).isEqualTo(4);
    }

    @Test
    void aRegistryThatIgnoresRangeGetsAFullPull() throws Exception {
        String b = "/chunked/b:v1";
        Importer.Result full =
                pull(Store.open(dir.resolve("ign-full")), registry.address() + b, false);
        try (TamperingProxy proxy =
                new TamperingProxy(registry.address(), TamperingProxy.Mode.IGNORE_RANGE)) {
            Importer.Result r = pull(Store.open(dir.resolve("ign")), proxy.address() + b, true);
            assertThat(r.imageDigest()).isEqualTo(full.imageDigest());
            assertThat(r.partialLayers()).isZero();
            assertThat(r.pulls())
                    .allSatisfy(
                            p ->
                                    assertThat(p.reason())
                                            .isEqualTo("the registry ignores Range requests"));
        }
    }

    @Test
    void aRegistryThatAnswersAnotherRangeIsRefusedAndNothingIsStored() throws Exception {
        try (TamperingProxy proxy =
                new TamperingProxy(registry.address(), TamperingProxy.Mode.SHIFT_RANGE)) {
            Store store = Store.open(dir.resolve("shift"));
            assertThatThrownBy(() -> pull(store, proxy.address() + "/chunked/b:v1", true))
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining("asked for bytes")
                    .hasMessageContaining("Content-Range");
            assertEmpty(store);
        }
    }

    /** One forged variant of B (as a layout) per bad input; each must fail naming the problem and store nothing. */
    @Test
    void badInputIsRefusedWithNothingStored() throws Exception {
        List<Object[]> cases = new ArrayList<>();
        cases.add(
                new Object[] {
                    "checksum",
                    toc(t -> {}),
                    ann(
                            a ->
                                    a.put(
                                            "io.containers.zstd-chunked.manifest-checksum",
                                            "sha256:" + "0".repeat(64))),
                    "the table of contents hashes to"
                });
        cases.add(
                new Object[] {
                    "outside",
                    toc(t -> firstReg(t, 0).put("endOffset", 1L << 40)),
                    ann(a -> {}),
                    "outside the layer"
                });
        cases.add(
                new Object[] {
                    "overlap",
                    toc(
                            t ->
                                    firstReg(t, 1)
                                            .put(
                                                    "offset",
                                                    firstReg(t, 0).get("offset").asLong() + 1)),
                    ann(a -> {}),
                    "overlapping"
                });
        cases.add(
                new Object[] {
                    "digest",
                    toc(t -> biggest(t).put("digest", "sha256:" + "1".repeat(64))),
                    ann(a -> {}),
                    "its TOC entry says sha256:1111"
                });
        cases.add(
                new Object[] {
                    "name",
                    toc(t -> biggest(t).put("name", "./bin/not-the-tool")),
                    ann(a -> {}),
                    "disagree"
                });
        cases.add(
                new Object[] {
                    "size", toc(t -> biggest(t).put("size", 12345)), ann(a -> {}), "disagree"
                });
        cases.add(
                new Object[] {
                    "absurd",
                    toc(t -> {}),
                    ann(
                            a ->
                                    a.put(
                                            "io.containers.zstd-chunked.manifest-position",
                                            a.get("io.containers.zstd-chunked.manifest-position")
                                                    .asText()
                                                    .replaceAll(
                                                            ":\\d+:1$", ":" + (1L << 40) + ":1"))),
                    "over the limits"
                });
        cases.add(
                new Object[] {
                    "bad json", toc(t -> t.put("entries", "nope")), ann(a -> {}), "not a list"
                });
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            Path forged =
                    ChunkedImages.forge(
                            layoutB,
                            dir.resolve("forged-" + c[0]),
                            0,
                            (Consumer<ObjectNode>) c[1],
                            (Consumer<ObjectNode>) c[2]);
            Store store = Store.open(dir.resolve("bad-" + c[0]));
            assertThatThrownBy(
                            () -> {
                                try (Importer importer =
                                        new Importer(
                                                store,
                                                client(),
                                                new BodyPipeline(2, 4 << 20),
                                                true)) {
                                    importer.pull(
                                            "oci:" + forged + ":t",
                                            Platform.parse("linux/amd64"),
                                            "r",
                                            ImportProgress.NONE);
                                }
                            })
                    .as((String) c[0])
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining((String) c[3])
                    .hasMessageContaining("oci:" + forged + ":t layer sha256:");
            assertEmpty(store);
        }
    }

    static Consumer<ObjectNode> toc(Consumer<ObjectNode> c) {
        return c;
    }

    static Consumer<ObjectNode> ann(Consumer<ObjectNode> c) {
        return c;
    }

    /** The n-th regular file with a body. */
    static ObjectNode firstReg(ObjectNode toc, int n) {
        int seen = 0;
        for (JsonNode e : toc.get("entries")) {
            if (e.get("type").asText().equals("reg")
                    && e.path("size").asLong() > 0
                    && seen++ == n) {
                return (ObjectNode) e;
            }
        }
        throw new IllegalStateException("no regular file " + n);
    }

    static ObjectNode biggest(ObjectNode toc) {
        ObjectNode best = null;
        for (JsonNode e : toc.get("entries")) {
            if (e.get("type").asText().equals("reg")
                    && (best == null || e.path("size").asLong() > best.path("size").asLong())) {
                best = (ObjectNode) e;
            }
        }
        return best;
    }

    /** Drops the store's record of which image each manifest became, so a re-pull reads layers. */
    static void forgetManifests(Store store) throws Exception {
        try (var entries = Files.list(store.root().resolve("index/manifests"))) {
            for (Path e : entries.toList()) {
                Files.delete(e);
            }
        }
    }

    static void assertEmpty(Store store) throws Exception {
        assertThat(store.images()).isEmpty();
        assertThat(store.refs()).isEmpty();
        try (Stream<Path> s = Files.list(store.objects().root())) {
            assertThat(s.toList()).isEmpty();
        }
        try (Stream<Path> s = Files.list(store.root().resolve("index/sha256"))) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
