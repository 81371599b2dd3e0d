package dev.kcfs.oci.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.sources.ImageSources;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.pull.ImageTrees;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.TreeBuilder;
import dev.kcfs.pull.layer.TreeText;
import dev.kcfs.tree.Directory;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RegistryPullTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();

    static RegistryClient client() {
        return new RegistryClient(DockerConfig.empty(), true, 3, Duration.ofMillis(10));
    }

    static Directory pull(String ref, Platform platform) throws Exception {
        try (ImageSource src = ImageSources.open(ref, client());
                BodyPipeline p = new BodyPipeline(2, 4 << 20)) {
            ImageManifest m = src.resolve(platform);
            return ImageTrees.build(src, m, BodySink.hashOnly(), p, null);
        }
    }

    static String expected(byte[]... tars) throws Exception {
        TreeBuilder t = new TreeBuilder(BodySink.hashOnly(), null);
        for (byte[] tar : tars) {
            t.apply(new ByteArrayInputStream(tar), "local");
        }
        return TreeText.render(t.finish());
    }

    @Test
    void pullsGzipZstdAndPlainLayersWithEveryEntryType() throws Exception {
        TestImage image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(Fixtures.base()),
                                Layer.zstd(Fixtures.middle()),
                                Layer.plain(Fixtures.top())));
        String digest = image.push(registry.pusher(), "test/every", "v1");
        String ref = registry.address() + "/test/every:v1";
        Directory root = pull(ref, Platform.current());
        String text = TreeText.render(root);
        assertThat(text).isEqualTo(expected(Fixtures.base(), Fixtures.middle(), Fixtures.top()));
        // spot checks that do not depend on the local tree builder
        String big = FsVerity.digest(Fixtures.BIG).hex();
        assertThat(text)
                .contains("/bin/tool 100755 0:0 n2 t1700000000.250000000 size=700000 digest=" + big)
                .contains("security.capability=0x0100000220000000000000000000000000000000")
                .contains("user.bin=0x000aff3d7f80")
                .contains("/bin/tool-link => /bin/tool")
                .contains("/bin/sh 120777")
                .contains("-> tool")
                .contains("/dev/null 20666 0:0 n1 t1700000000.0 dev=1,3")
                .contains("/dev/sda 60660 0:0 n1 t1700000000.0 dev=8,0")
                .contains("/run/fifo 10600")
                .contains("/etc/empty 100600 1000:1000 n1 t1700000000.0 size=0")
                .contains("/etc/motd 100644 0:0 n1 t1700000000.0 size=31 inline=")
                .contains("/opaque 40700")
                .contains("/opaque/new ")
                .contains("/data/shared-again => /data/shared")
                .contains("/data/\u00e9t\u00e9 ")
                .contains("/data/" + "long-name-".repeat(20) + " 100644");
        assertThat(text)
                .doesNotContain("victim")
                .doesNotContain("/etc/gone")
                .doesNotContain("/opaque/old")
                .doesNotContain(".wh.");
        // pinned by digest gives the same tree
        assertThat(
                        TreeText.render(
                                pull(
                                        registry.address() + "/test/every@" + digest,
                                        Platform.current())))
                .isEqualTo(text);
    }

    @Test
    void dockerSchema2ManifestsWork() throws Exception {
        TestImage image =
                new TestImage("amd64", List.of(Layer.dockerGzip(Fixtures.base())), true, null);
        image.push(registry.pusher(), "test/docker", "latest");
        assertThat(TreeText.render(pull(registry.address() + "/test/docker", Platform.current())))
                .isEqualTo(expected(Fixtures.base()));
    }

    @Test
    void multiPlatformIndexSelectsByPlatform() throws Exception {
        TestImage amd =
                new TestImage(
                        "amd64",
                        List.of(Layer.gzip(new TarBuilder().file("arch", "amd64").build())));
        TestImage arm =
                new TestImage(
                        "arm64",
                        List.of(Layer.gzip(new TarBuilder().file("arch", "arm64").build())));
        RegistryPusher p = registry.pusher();
        amd.push(p, "test/multi", amd.digest());
        arm.push(p, "test/multi", arm.digest());
        byte[] index = TestImage.index(List.of(amd, arm), List.of("linux/amd64", "linux/arm64/v8"));
        p.manifest("test/multi", "latest", dev.kcfs.oci.Manifests.OCI_INDEX, index);
        String ref = registry.address() + "/test/multi";
        assertThat(TreeText.render(pull(ref, Platform.parse("linux/arm64"))))
                .contains("/arch 100644 0:0 n1 t1700000000.0 size=5 inline=61726d3634");
        assertThat(TreeText.render(pull(ref, Platform.parse("linux/arm64/v8"))))
                .contains("inline=61726d3634");
        assertThat(TreeText.render(pull(ref, Platform.parse("linux/amd64"))))
                .contains("inline=616d643634");
        try (ImageSource src = client().open(ImageReference.parse(ref))) {
            ImageManifest chosen = src.resolve(Platform.parse("linux/arm64"));
            assertThat(chosen.digest()).isEqualTo(arm.digest());
        }
        assertThatThrownBy(() -> pull(ref, Platform.parse("linux/s390x")))
                .hasMessageContaining(
                        "no manifest for platform linux/s390x in the index (it offers [linux/amd64, linux/arm64/v8])")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.NOT_FOUND));
        // pinning a multi-platform tag pins the index, so every platform stays reachable by the
        // digest
        assertThat(client().manifestDigest(ImageReference.parse(ref)))
                .isEqualTo(dev.kcfs.oci.Digests.sha256(index));
        assertThatThrownBy(() -> pull(ref, Platform.parse("linux/arm64/v7")))
                .hasMessageContaining("no manifest for platform linux/arm64/v7");
    }

    @Test
    void unknownLayerMediaTypeIsRefused() throws Exception {
        Layer odd =
                new Layer(
                        "application/vnd.example.layer.v1.tar+bzip2",
                        new byte[] {1, 2, 3},
                        new byte[0]);
        new TestImage("amd64", List.of(odd)).push(registry.pusher(), "test/odd", "v1");
        assertThatThrownBy(() -> pull(registry.address() + "/test/odd:v1", Platform.current()))
                .hasMessageContaining("layer sha256:")
                .hasMessageContaining(
                        "unknown layer media type 'application/vnd.example.layer.v1.tar+bzip2'");
    }

    @Test
    void pathEscapesInARegistryLayerAreRefused() throws Exception {
        new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(
                                        new TarBuilder()
                                                .file("../../etc/cron.d/evil", "x")
                                                .build())))
                .push(registry.pusher(), "test/escape", "v1");
        assertThatThrownBy(() -> pull(registry.address() + "/test/escape:v1", Platform.current()))
                .hasMessageContaining("/test/escape:v1 layer sha256:")
                .hasMessageContaining("'..' component");
    }

    @Test
    void absurdEntrySizeInALayerIsRefused() throws Exception {
        new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(
                                        new TarBuilder()
                                                .entry("huge")
                                                .pax("size", "99999999999999999")
                                                .add()
                                                .build())))
                .push(registry.pusher(), "test/absurd", "v1");
        assertThatThrownBy(() -> pull(registry.address() + "/test/absurd:v1", Platform.current()))
                .hasMessageContaining("absurd size");
    }

    @Test
    void descriptorSizeThatDisagreesWithTheBlobIsRefused() throws Exception {
        Layer l = Layer.gzip(new TarBuilder().file("a", "b").build());
        TestImage lying =
                new TestImage("amd64", List.of(l), false, List.of((long) l.blob().length - 5));
        lying.push(registry.pusher(), "test/size", "v1");
        assertThatThrownBy(() -> pull(registry.address() + "/test/size:v1", Platform.current()))
                .hasMessageContaining("the manifest says " + (l.blob().length - 5));
    }

    @Test
    void missingTagAndRepositoryAreClear() {
        assertThatThrownBy(() -> pull(registry.address() + "/test/nothing:v9", Platform.current()))
                .hasMessageContaining(
                        "manifest " + registry.address() + "/test/nothing:v9: not found (HTTP 404")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.NOT_FOUND));
        assertThatThrownBy(
                        () ->
                                client().manifestDigest(
                                                ImageReference.parse(
                                                        registry.address() + "/test/nothing:v9")))
                .hasMessageContaining(
                        "manifest " + registry.address() + "/test/nothing:v9: not found (HTTP 404")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.NOT_FOUND));
    }

    @Test
    void manifestDigestOfATagIsThePushedManifestAndADigestNeedsNoRequest() throws Exception {
        TestImage image =
                new TestImage(
                        "amd64", List.of(Layer.gzip(new TarBuilder().file("a", "pin me").build())));
        image.push(registry.pusher(), "test/pin", "v1");
        assertThat(
                        client().manifestDigest(
                                        ImageReference.parse(registry.address() + "/test/pin:v1")))
                .isEqualTo(image.digest());
        // port 1 is closed: a request would fail
        String d = "sha256:" + "cd".repeat(32);
        assertThat(client().manifestDigest(ImageReference.parse("127.0.0.1:1/test/pin:v1@" + d)))
                .isEqualTo(d);
    }

    @Test
    void closedPortIsUnreachable() throws Exception {
        int closed = TestRegistry.freePort();
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, 2, Duration.ofMillis(5));
        assertThatThrownBy(
                        () ->
                                client.manifestDigest(
                                        ImageReference.parse(
                                                "127.0.0.1:" + closed + "/test/pin:v1")))
                .hasMessageContaining("cannot connect to 127.0.0.1:" + closed)
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNREACHABLE));
    }

    @Test
    void plainHttpPerRegistryByHostPortOrHost() throws Exception {
        TestImage image =
                new TestImage(
                        "amd64",
                        List.of(Layer.gzip(new TarBuilder().file("a", "plain http").build())));
        image.push(registry.pusher(), "test/plain", "v1");
        ImageReference ref = ImageReference.parse(registry.address() + "/test/plain:v1");
        RegistryClient.Options https =
                RegistryClient.Options.defaults().withRetries(1, Duration.ofMillis(5));
        for (String listed : List.of(registry.address(), "127.0.0.1")) {
            RegistryClient client =
                    new RegistryClient(
                            DockerConfig.empty(),
                            https.withPlainHttpRegistries(java.util.Set.of(listed)));
            assertThat(client.manifestDigest(ref)).as(listed).isEqualTo(image.digest());
        }
        // not listed, but on loopback: plain HTTP all the same
        RegistryClient other =
                new RegistryClient(
                        DockerConfig.empty(),
                        https.withPlainHttpRegistries(
                                java.util.Set.of("127.0.0.2", "registry.example:5000")));
        assertThat(other.manifestDigest(ref)).isEqualTo(image.digest());
    }
}
