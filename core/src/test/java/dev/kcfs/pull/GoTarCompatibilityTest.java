package dev.kcfs.pull;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.layout.OciLayoutDirectory;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.TreeText;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.testing.Root;
import dev.kcfs.tree.Directory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layers written by Go's archive/tar (what docker, buildkit and umoci use), via {@code umoci insert}
 * of a real directory with every file type, hardlinks and binary xattrs: importing the layer gives
 * the tree a scan of the directory gives.
 */
@Tag("root")
class GoTarCompatibilityTest {

    @Test
    void umociInsertedDirectoryImportsToTheScannedTree(@TempDir Path dir) throws Exception {
        Root.assumeRoot();
        Path src = Files.createDirectories(dir.resolve("src/d"));
        Files.createDirectories(src.resolve("deeper"));
        Files.writeString(src.resolve("f"), "hello");
        Files.write(dir.resolve("src/big"), dev.kcfs.oci.registry.Fixtures.BIG);
        Files.createLink(src.resolve("hl"), src.resolve("f"));
        Files.createSymbolicLink(src.resolve("sl"), Path.of("../big"));
        Files.writeString(src.resolve("deeper/" + "n".repeat(120)), "long name");
        run("mkfifo", dir.resolve("src/fifo").toString());
        run("mknod", dir.resolve("src/null").toString(), "c", "1", "3");
        run("mknod", dir.resolve("src/loop9").toString(), "b", "7", "9");
        run("setfattr", "-n", "user.bin", "-v", "0x00ff0a3d", src.resolve("f").toString());
        run(
                "setfattr",
                "-n",
                "security.capability",
                "-v",
                "0x0100000200200000000000000000000000000000",
                dir.resolve("src/big").toString());
        run("chown", "1234:5678", src.resolve("sl").toString(), "-h");
        run("chmod", "4751", dir.resolve("src/big").toString());
        // whole seconds: Go's tar writer rounds sub-second mtimes to the nearest second in ustar
        // headers
        run(
                "find",
                dir.resolve("src").toString(),
                "-exec",
                "touch",
                "-h",
                "-d",
                "@1700000001",
                "{}",
                "+");
        Path layout = dir.resolve("layout");
        run("umoci", "init", "--layout", layout.toString());
        run("umoci", "new", "--image", layout + ":t");
        run("umoci", "insert", "--image", layout + ":t", dir.resolve("src").toString(), "/");

        Directory ours;
        try (ImageSource s = new OciLayoutDirectory(layout, "t")) {
            ours =
                    ImageTrees.build(
                            s, s.resolve(Platform.current()), BodySink.hashOnly(), null, null);
        }
        Directory scanned =
                new DirectoryScanner(DirectoryScanner.Options.defaults())
                        .scan(dir.resolve("src"))
                        .root();
        assertThat(normalise(TreeText.renderFlat(ours)))
                .isEqualTo(normalise(TreeText.renderFlat(scanned)));
        assertThat(((Directory) ours.child("d".getBytes())).child("hl".getBytes()))
                .isSameAs(((Directory) ours.child("d".getBytes())).child("f".getBytes()));
        assertThat(TreeText.render(ours))
                .contains("user.bin=0x00ff0a3d")
                .contains("security.capability=0x01000002002")
                .contains("/null 20644")
                .contains("dev=1,3")
                .contains("dev=7,9")
                .contains("/fifo 10644")
                .contains("/d/sl 120777 1234:5678");
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    /** nlink is not compared: the scanner always says 1 (like mkcomposefs). */
    private static String normalise(String text) {
        return text.lines()
                .map(l -> l.replaceAll(" n\\d+ ", " "))
                .collect(Collectors.joining("\n"));
    }
}
