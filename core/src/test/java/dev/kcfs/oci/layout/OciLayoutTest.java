package dev.kcfs.oci.layout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.oci.sources.ImageSources;
import dev.kcfs.pull.ImageTrees;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.TreeText;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class OciLayoutTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();

    static final TestImage IMAGE =
            new TestImage(
                    "amd64",
                    List.of(
                            Layer.gzip(Fixtures.base()),
                            Layer.zstd(Fixtures.middle()),
                            Layer.plain(Fixtures.top())));

    static String pull(String ref) throws Exception {
        try (ImageSource src =
                ImageSources.open(
                        ref,
                        new RegistryClient(
                                DockerConfig.empty(), true, 1, java.time.Duration.ZERO))) {
            return TreeText.render(
                    ImageTrees.build(
                            src, src.resolve(Platform.current()), BodySink.hashOnly(), null, null));
        }
    }

    @Test
    void layoutDirectoryGivesTheSameTreeAsTheRegistry(@TempDir Path dir) throws Exception {
        IMAGE.push(registry.pusher(), "layout/app", "v1");
        String fromRegistry = pull(registry.address() + "/layout/app:v1");
        IMAGE.writeLayout(dir.resolve("l"), "v1");
        assertThat(pull("oci:" + dir.resolve("l") + ":v1")).isEqualTo(fromRegistry);
        assertThat(pull("oci:" + dir.resolve("l")))
                .isEqualTo(fromRegistry); // a single image needs no tag
    }

    @Test
    void skopeoWrittenLayoutAndArchiveAreRead(@TempDir Path dir) throws Exception {
        IMAGE.push(registry.pusher(), "layout/skopeo", "v1");
        String expected = pull(registry.address() + "/layout/skopeo:v1");
        Path layout = dir.resolve("layout");
        Path archive = dir.resolve("image.tar");
        for (String target :
                List.of("oci:" + layout + ":mytag", "oci-archive:" + archive + ":mytag")) {
            Process p =
                    new ProcessBuilder(
                                    "skopeo",
                                    "copy",
                                    "--src-tls-verify=false",
                                    "--preserve-digests",
                                    "docker://" + registry.address() + "/layout/skopeo:v1",
                                    target)
                            .redirectErrorStream(true)
                            .start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
        }
        assertThat(pull("oci:" + layout + ":mytag")).isEqualTo(expected);
        assertThat(pull("oci-archive:" + archive + ":mytag")).isEqualTo(expected);
        assertThat(pull("oci-archive:" + archive)).isEqualTo(expected);
    }

    @Test
    void tamperedBlobIsADigestMismatch(@TempDir Path dir) throws Exception {
        IMAGE.writeLayout(dir, "v1");
        Path blob =
                dir.resolve(
                        "blobs/sha256/"
                                + dev.kcfs.oci.Digests.sha256(IMAGE.layers.get(2).blob())
                                        .substring(7));
        byte[] b = Files.readAllBytes(blob);
        b[700] ^= 0x40;
        Files.write(blob, b);
        assertThatThrownBy(() -> pull("oci:" + dir + ":v1"))
                .isInstanceOf(OciException.class)
                .hasMessageContaining("oci:" + dir + ":v1 blob sha256:")
                .hasMessageContaining("digest mismatch");
    }

    @Test
    void truncatedBlobIsReported(@TempDir Path dir) throws Exception {
        IMAGE.writeLayout(dir, "v1");
        Path blob =
                dir.resolve(
                        "blobs/sha256/"
                                + dev.kcfs.oci.Digests.sha256(IMAGE.layers.get(0).blob())
                                        .substring(7));
        byte[] b = Files.readAllBytes(blob);
        Files.write(blob, java.util.Arrays.copyOf(b, b.length / 2));
        assertThatThrownBy(() -> pull("oci:" + dir + ":v1"))
                .isInstanceOf(OciException.class)
                .hasMessageContaining(
                        "truncated, got " + b.length / 2 + " of " + b.length + " bytes");
    }

    @Test
    void missingBlobTagAndLayoutAreClear(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> pull("oci:" + dir))
                .hasMessageContaining("is not an OCI image layout (no oci-layout file)");
        IMAGE.writeLayout(dir, "v1");
        assertThatThrownBy(() -> pull("oci:" + dir + ":v2"))
                .hasMessageContaining("no image tagged 'v2' (index.json holds [v1])");
        Files.delete(
                dir.resolve(
                                "blobs/sha256/"
                                        + dev.kcfs.oci.Digests.sha256(IMAGE.config).substring(7))
                        .resolveSibling(
                                dev.kcfs.oci.Digests.sha256(IMAGE.layers.get(1).blob())
                                        .substring(7)));
        assertThatThrownBy(() -> pull("oci:" + dir + ":v1")).hasMessageContaining("is missing");
    }

    @Test
    void layerThatIsNotWhatItsMediaTypeSaysIsNamed(@TempDir Path dir) throws Exception {
        byte[] tar = new dev.kcfs.oci.tar.TarBuilder().file("f", "x").build();
        new TestImage(
                        "amd64",
                        List.of(new Layer("application/vnd.oci.image.layer.v1.tar+gzip", tar, tar)))
                .writeLayout(dir.resolve("g"), "v1");
        assertThatThrownBy(() -> pull("oci:" + dir.resolve("g")))
                .isInstanceOf(OciException.class)
                .hasMessageContaining(
                        "layer " + dev.kcfs.oci.Digests.sha256(tar) + ": not valid gzip");
        new TestImage(
                        "amd64",
                        List.of(new Layer("application/vnd.oci.image.layer.v1.tar+zstd", tar, tar)))
                .writeLayout(dir.resolve("z"), "v1");
        assertThatThrownBy(() -> pull("oci:" + dir.resolve("z")))
                .isInstanceOf(OciException.class)
                .hasMessageContaining(": not valid zstd");
    }

    @Test
    void tooLargeManifestIsRefused(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        byte[] huge = new byte[5 << 20];
        java.util.Arrays.fill(huge, (byte) ' ');
        huge[0] = '{';
        huge[huge.length - 1] = '}';
        TestImage.writeBlob(dir, huge);
        Files.writeString(
                dir.resolve("index.json"),
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\""
                        + dev.kcfs.oci.Digests.sha256(huge)
                        + "\",\"size\":"
                        + huge.length
                        + "}]}");
        assertThatThrownBy(() -> pull("oci:" + dir))
                .hasMessageContaining("declares 5242880 bytes, over the 4194304-byte limit");
    }

    @Test
    void unsupportedManifestsAreNamed(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        byte[] v1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}".getBytes();
        TestImage.writeBlob(dir, v1);
        Files.writeString(
                dir.resolve("index.json"),
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\""
                        + dev.kcfs.oci.Digests.sha256(v1)
                        + "\",\"size\":"
                        + v1.length
                        + "}]}");
        assertThatThrownBy(() -> pull("oci:" + dir))
                .hasMessageContaining("Docker schema 1 manifests are not supported");
        byte[] odd =
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example+json\"}".getBytes();
        TestImage.writeBlob(dir, odd);
        Files.writeString(
                dir.resolve("index.json"),
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.example+json\",\"digest\":\""
                        + dev.kcfs.oci.Digests.sha256(odd)
                        + "\",\"size\":"
                        + odd.length
                        + "}]}");
        assertThatThrownBy(() -> pull("oci:" + dir))
                .hasMessageContaining("unknown manifest media type 'application/vnd.example+json'");
    }
}
