package dev.kcfs.oci.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.sources.ImageSources;
import dev.kcfs.pull.ImageTrees;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.TreeText;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The real registry behind a tampering proxy: transient errors are retried, bad content is refused. */
class HostileRegistryTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();
    static TamperingProxy proxy;
    static TestImage image;

    @BeforeAll
    static void setUp() throws Exception {
        image =
                new TestImage(
                        "amd64", List.of(Layer.gzip(Fixtures.base()), Layer.plain(Fixtures.top())));
        image.push(registry.pusher(), "app", "v1");
        proxy = new TamperingProxy(registry.address());
    }

    @AfterAll
    static void tearDown() {
        proxy.close();
    }

    @BeforeEach
    void reset() {
        proxy.mode = TamperingProxy.Mode.FORWARD;
        proxy.requests.set(0);
        proxy.methods.clear();
    }

    static OciException.Kind kind(Throwable e) {
        assertThat(e).isInstanceOf(OciException.class);
        return ((OciException) e).kind();
    }

    static String pull(int attempts) throws Exception {
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, attempts, Duration.ofMillis(5));
        try (ImageSource src = ImageSources.open(proxy.address() + "/app:v1", client)) {
            return TreeText.render(
                    ImageTrees.build(
                            src, src.resolve(Platform.current()), BodySink.hashOnly(), null, null));
        }
    }

    @Test
    void transientErrorsAreRetried() throws Exception {
        proxy.mode = TamperingProxy.Mode.FAIL_FIRST_TWO;
        assertThat(pull(3)).contains("/bin/tool ");
        proxy.requests.set(0);
        assertThatThrownBy(() -> pull(2))
                .hasMessageContaining("HTTP 502")
                .hasMessageContaining("after 2 attempts")
                .satisfies(e -> assertThat(kind(e)).isEqualTo(OciException.Kind.UNREACHABLE));
    }

    @Test
    void corruptBlobIsADigestMismatch() {
        proxy.mode = TamperingProxy.Mode.CORRUPT_BLOBS;
        assertThatThrownBy(() -> pull(1))
                .isInstanceOf(OciException.class)
                .hasMessageContaining("digest mismatch") // not the gzip or tar error it caused
                .satisfies(e -> assertThat(kind(e)).isEqualTo(OciException.Kind.INVALID_CONTENT));
    }

    @Test
    void corruptPlainLayerIsADigestMismatch() throws Exception {
        // the plain layer is checked only by its digest: flip a byte inside a file body
        TestImage img =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.plain(
                                        new dev.kcfs.oci.tar.TarBuilder()
                                                .file("f", Fixtures.BIG)
                                                .build())));
        img.push(registry.pusher(), "plain", "v1");
        proxy.mode = TamperingProxy.Mode.CORRUPT_BLOBS;
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, 1, Duration.ofMillis(5));
        try (ImageSource src = ImageSources.open(proxy.address() + "/plain:v1", client)) {
            assertThatThrownBy(
                            () ->
                                    ImageTrees.build(
                                            src,
                                            src.resolve(Platform.current()),
                                            BodySink.hashOnly(),
                                            null,
                                            null))
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining(
                            "blob "
                                    + dev.kcfs.oci.Digests.sha256(
                                            img.config)) // the config is read first
                    .hasMessageContaining("digest mismatch");
        }
    }

    @Test
    void truncatedBlobIsReported() {
        proxy.mode = TamperingProxy.Mode.TRUNCATE_BLOBS;
        assertThatThrownBy(() -> pull(1))
                .isInstanceOf(OciException.class)
                .hasMessageContaining("blob sha256:")
                .satisfies(
                        e ->
                                assertThat(e.getMessage())
                                        .containsAnyOf("transfer failed", "truncated"));
    }

    @Test
    void droppedConnectionIsResumedWithARangeRequest() throws Exception {
        String expected = pull(1);
        proxy.mode = TamperingProxy.Mode.TRUNCATE_FIRST_BLOB;
        proxy.truncated.set(0);
        proxy.ranges.clear();
        assertThat(pull(3)).isEqualTo(expected);
        assertThat(proxy.truncated.get()).isGreaterThan(0);
        assertThat(proxy.ranges).hasSize(1).allMatch(r -> r.matches("bytes=[1-9]\\d*-"));
    }

    @Test
    void stalledDownloadIsDroppedAndResumed() throws Exception {
        String expected = pull(1);
        proxy.mode = TamperingProxy.Mode.STALL_FIRST_BLOB;
        proxy.truncated.set(0);
        proxy.ranges.clear();
        RegistryClient client =
                new RegistryClient(
                        DockerConfig.empty(),
                        true,
                        3,
                        Duration.ofMillis(5),
                        Duration.ofMillis(400));
        long start = System.nanoTime();
        try (ImageSource src = ImageSources.open(proxy.address() + "/app:v1", client)) {
            assertThat(
                            TreeText.render(
                                    ImageTrees.build(
                                            src,
                                            src.resolve(Platform.current()),
                                            BodySink.hashOnly(),
                                            null,
                                            null)))
                    .isEqualTo(expected);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .isLessThan(Duration.ofSeconds(25)); // did not wait the 30 s for the server
        assertThat(proxy.ranges).hasSize(1);
    }

    @Test
    void blobRedirectsToAnotherHostAreFollowed() throws Exception {
        String expected = pull(1);
        proxy.mode = TamperingProxy.Mode.REDIRECT_BLOBS;
        proxy.requests.set(0);
        assertThat(pull(1)).isEqualTo(expected);
        assertThat(proxy.requests.get())
                .isEqualTo(
                        4); // manifest, config and 2 layer blobs (then fetched from the other host)
    }

    @Test
    void tooLargeManifestIsRefusedBeforeReading() {
        proxy.mode = TamperingProxy.Mode.HUGE_MANIFEST;
        assertThatThrownBy(() -> pull(1))
                .hasMessageContaining(
                        "announces 5242880 bytes, over the 4194304-byte manifest limit")
                .satisfies(e -> assertThat(kind(e)).isEqualTo(OciException.Kind.INVALID_CONTENT));
        proxy.mode = TamperingProxy.Mode.HUGE_MANIFEST_UNANNOUNCED;
        assertThatThrownBy(() -> pull(1))
                .hasMessageContaining("larger than the 4194304-byte manifest limit")
                .satisfies(e -> assertThat(kind(e)).isEqualTo(OciException.Kind.INVALID_CONTENT));
    }

    @Test
    void manifestDigestIsOneHeadOrAGetWhenTheRegistryOmitsTheDigestHeader() throws Exception {
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, 1, Duration.ofMillis(5));
        ImageReference ref = ImageReference.parse(proxy.address() + "/app:v1");
        assertThat(client.manifestDigest(ref)).isEqualTo(image.digest());
        assertThat(proxy.methods).containsExactly("HEAD");
        proxy.methods.clear();
        proxy.mode = TamperingProxy.Mode.NO_DIGEST_HEADER;
        assertThat(client.manifestDigest(ref)).isEqualTo(image.digest());
        assertThat(proxy.methods).containsExactly("HEAD", "GET");
    }

    @Test
    void manifestDigestOfAnUnreachableRegistryIsUnreachable() {
        proxy.mode = TamperingProxy.Mode.FAIL_FIRST_TWO;
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, 2, Duration.ofMillis(5));
        assertThatThrownBy(
                        () ->
                                client.manifestDigest(
                                        ImageReference.parse(proxy.address() + "/app:v1")))
                .hasMessageContaining("HTTP 502")
                .satisfies(e -> assertThat(kind(e)).isEqualTo(OciException.Kind.UNREACHABLE));
    }
}
