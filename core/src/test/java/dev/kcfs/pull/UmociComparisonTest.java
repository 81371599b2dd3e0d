package dev.kcfs.pull;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.layout.OciLayoutDirectory;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.TreeText;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.testing.Root;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our layer application against an independent one: {@code umoci unpack} of the same OCI layout
 * (gzip and plain layers: umoci 0.4.7 has no zstd), scanned back from disk.
 */
@Tag("root")
class UmociComparisonTest {

    @Test
    void sameFilesMetadataAndContentsAsUmociUnpack(@TempDir Path dir) throws Exception {
        Root.assumeRoot();
        unpackFixtureWithUmoci(dir);

        String ours;
        try (ImageSource src = new OciLayoutDirectory(dir.resolve("layout"), "v1")) {
            ours =
                    TreeText.renderFlat(
                            ImageTrees.build(
                                    src,
                                    src.resolve(Platform.current()),
                                    BodySink.hashOnly(),
                                    null,
                                    null));
        }
        String umoci =
                TreeText.renderFlat(
                        new DirectoryScanner(DirectoryScanner.Options.defaults())
                                .scan(dir.resolve("bundle/rootfs"))
                                .root());
        assertThat(normalise(umoci)).isEqualTo(normalise(ours));
        assertThat(normalise(ours))
                .contains("security.capability=0x01")
                .contains("user.bin=0x000aff")
                .contains("/dev/null 20666")
                .contains("/run/fifo 10600")
                .contains("/opaque/new ")
                .doesNotContain("/opaque/old")
                .doesNotContain("victim")
                .contains("/bin/sh 120777")
                .contains("/data/shared-again 100444");
        // hardlinks really are links in umoci's tree too, and ours shares the inode
        assertThat(
                        java.nio.file.Files.getAttribute(
                                dir.resolve("bundle/rootfs/bin/tool-link"), "unix:nlink"))
                .isEqualTo(2);
    }

    /** The three-layer fixture image as an OCI layout at {@code dir/layout:v1}, and umoci's unpack of it in {@code dir/bundle}. */
    static void unpackFixtureWithUmoci(Path dir) throws Exception {
        TestImage image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(Fixtures.base()),
                                Layer.gzip(Fixtures.middle()),
                                Layer.plain(Fixtures.top())));
        image.writeLayout(dir.resolve("layout"), "v1");
        Process p =
                new ProcessBuilder(
                                "umoci",
                                "unpack",
                                "--image",
                                dir.resolve("layout") + ":v1",
                                dir.resolve("bundle").toString())
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }

    /**
     * Drops what legitimately differs: nlink (the scanner always says 1, like mkcomposefs), the root
     * line (umoci makes the root itself), directory mtimes (umoci touches parents when it applies
     * whiteouts), and umoci's own bookkeeping xattrs if any.
     */
    static String normalise(String text) {
        return text.lines()
                .filter(l -> !l.startsWith("/ "))
                .map(l -> l.replaceAll(" n\\d+ ", " "))
                .map(l -> l.matches("\\S+ 40\\d\\d\\d .*") ? l.replaceAll(" t\\S+", "") : l)
                .collect(Collectors.joining("\n"));
    }
}
