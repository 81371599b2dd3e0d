package dev.kcfs.pull;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.layout.OciLayoutDirectory;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.tree.Directory;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The same OCI image gives the same composefs image digest, whatever the source or the threading. */
class ImageDigestTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();

    static Digest imageDigest(ImageSource src, BodyPipeline pipeline) throws Exception {
        Directory root =
                ImageTrees.build(
                        src, src.resolve(Platform.current()), BodySink.hashOnly(), pipeline, null);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ErofsWriter.write(root, ErofsWriter.WriteOptions.pinned(1), out);
        return FsVerity.digest(out.toByteArray());
    }

    @Test
    void registryLayoutSerialAndPipelinedAgree(@TempDir Path dir) throws Exception {
        TestImage image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(Fixtures.base()),
                                Layer.zstd(Fixtures.middle()),
                                Layer.plain(Fixtures.top())));
        image.push(registry.pusher(), "digest/app", "v1");
        image.writeLayout(dir.resolve("layout"), "v1");
        RegistryClient client = new RegistryClient(DockerConfig.empty(), true, 1, Duration.ZERO);
        Digest fromRegistry;
        try (ImageSource src =
                client.open(ImageReference.parse(registry.address() + "/digest/app:v1"))) {
            fromRegistry = imageDigest(src, null);
        }
        try (ImageSource src = new OciLayoutDirectory(dir.resolve("layout"), "v1");
                BodyPipeline p = new BodyPipeline(2, 1 << 20)) {
            assertThat(imageDigest(src, p)).isEqualTo(fromRegistry);
        }
        try (ImageSource src = new OciLayoutDirectory(dir.resolve("layout"), "v1");
                BodyPipeline p = new BodyPipeline(1, 512 << 10)) {
            assertThat(imageDigest(src, p)).isEqualTo(fromRegistry);
        }
        // a different layer order is a different image
        TestImage swapped =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.zstd(Fixtures.middle()),
                                Layer.gzip(Fixtures.base()),
                                Layer.plain(Fixtures.top())));
        swapped.writeLayout(dir.resolve("swapped"), "v1");
        try (ImageSource src = new OciLayoutDirectory(dir.resolve("swapped"), "v1")) {
            assertThat(imageDigest(src, null)).isNotEqualTo(fromRegistry);
        }
    }

    @Test
    void writtenImagePassesFsckErofs(@TempDir Path dir) throws Exception {
        TestImage image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(Fixtures.base()),
                                Layer.zstd(Fixtures.middle()),
                                Layer.plain(Fixtures.top())));
        image.writeLayout(dir.resolve("layout"), "v1");
        Directory root;
        try (ImageSource src = new OciLayoutDirectory(dir.resolve("layout"), "v1")) {
            root =
                    ImageTrees.build(
                            src, src.resolve(Platform.current()), BodySink.hashOnly(), null, null);
        }
        Path img = dir.resolve("image.cfs");
        ErofsWriter.WriteResult r =
                ErofsWriter.write(root, ErofsWriter.WriteOptions.pinned(1), img);
        assertThat(r.version()).isEqualTo(1);
        Process p =
                new ProcessBuilder("fsck.erofs", img.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(Files.size(img)).isEqualTo(r.size());
    }
}
