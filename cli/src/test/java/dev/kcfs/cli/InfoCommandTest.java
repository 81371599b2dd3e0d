package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.kcfs;
import static dev.kcfs.cli.CliRun.kcfsWithInput;
import static dev.kcfs.cli.CliRun.tool;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code kcfs info} run in-process: listing an image and its objects, finding objects missing from a
 * store, measuring files, and a dump that rebuilds the same image.
 */
class InfoCommandTest extends SourceTreeTest {
    @Test
    void infoListsObjectsAcrossImagesAndFindsMissingOnes() throws Exception {
        Path store = tmp.resolve("objects");
        Path img1 = tmp.resolve("1.cfs");
        Path img2 = tmp.resolve("2.cfs");
        assertThat(
                        kcfs(
                                        "mkcomposefs",
                                        "--digest-store=" + store,
                                        src.toString(),
                                        img1.toString())
                                .rc())
                .isZero();
        Path src2 = Files.createDirectories(tmp.resolve("src2"));
        Files.write(src2.resolve("again"), random(100_000, 1)); // same body as d/big
        Files.write(src2.resolve("new"), random(70, 3));
        assertThat(kcfs("mkcomposefs", src2.toString(), img2.toString()).rc()).isZero();

        String big =
                tool("fsverity", "digest", "--compact", src.resolve("d/big").toString()).trim();
        String other =
                tool("fsverity", "digest", "--compact", src.resolve("d/other").toString()).trim();
        String fresh =
                tool("fsverity", "digest", "--compact", src2.resolve("new").toString()).trim();
        List<String> expected =
                Stream.of(big, other, fresh)
                        .sorted()
                        .map(h -> h.substring(0, 2) + "/" + h.substring(2))
                        .toList();

        CliRun objects = kcfs("info", "objects", img1.toString(), img2.toString());
        assertThat(objects.outText().lines().toList()).isEqualTo(expected);

        CliRun missing =
                kcfs(
                        "info",
                        "--basedir=" + store,
                        "missing-objects",
                        img1.toString(),
                        img2.toString());
        assertThat(missing.outText())
                .isEqualTo(fresh.substring(0, 2) + "/" + fresh.substring(2) + "\n");

        CliRun ls = kcfs("info", "ls", img1.toString());
        assertThat(ls.outText())
                .isEqualTo(
                        "/d/\t\n/d/big\t@ "
                                + big.substring(0, 2)
                                + "/"
                                + big.substring(2)
                                + "\n"
                                + "/d/other\t@ "
                                + other.substring(0, 2)
                                + "/"
                                + other.substring(2)
                                + "\n"
                                + "/link\t-> small\n/small\n");

        CliRun filtered = kcfs("info", "--filter=small", "--filter=link", "ls", img1.toString());
        assertThat(filtered.outText()).isEqualTo("/link\t-> small\n/small\n");
    }

    @Test
    void measureFileEqualsFsverityTool() throws Exception {
        Path a = Files.write(tmp.resolve("a"), random(4097, 7));
        Path b = Files.write(tmp.resolve("b"), new byte[0]);
        CliRun r = kcfs("info", "measure-file", a.toString(), b.toString());
        assertThat(r.rc()).isZero();
        assertThat(r.outText())
                .isEqualTo(tool("fsverity", "digest", "--compact", a.toString(), b.toString()));
    }

    @Test
    void dumpOfImageRebuildsTheSameImage() throws Exception {
        Path image = tmp.resolve("img.cfs");
        assertThat(kcfs("mkcomposefs", src.toString(), image.toString()).rc()).isZero();
        CliRun dump = kcfs("info", "dump", image.toString());
        assertThat(dump.rc()).isZero();
        assertThat(dump.outText())
                .startsWith("/ ")
                .contains("\n/small 6 100644 1 ")
                .contains(" hello\\n ");
        CliRun again = kcfsWithInput(dump.out(), "mkcomposefs", "--from-file", "-", "-");
        assertThat(again.rc()).as("%s", again).isZero();
        assertThat(again.out()).isEqualTo(Files.readAllBytes(image));
    }
}
