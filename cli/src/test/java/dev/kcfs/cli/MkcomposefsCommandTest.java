package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.headerVersion;
import static dev.kcfs.cli.CliRun.kcfs;
import static dev.kcfs.cli.CliRun.kcfsWithInput;
import static dev.kcfs.cli.CliRun.tool;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.NativeLong;
import dev.kcfs.linux.LibC;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kcfs mkcomposefs} and {@code kcfs info} run in-process: arguments, outputs, errors. */
class MkcomposefsCommandTest {
    @TempDir Path tmp;
    Path src;

    @BeforeEach
    void tree() throws IOException {
        src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("small"), "hello\n");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("d/big"), random(100_000, 1));
        Files.write(src.resolve("d/other"), random(5000, 2));
        Files.createSymbolicLink(src.resolve("link"), Path.of("small"));
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private List<String> filesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void usageErrorsExitTwoWithTheReason() {
        CliRun none = kcfs();
        assertThat(none.rc()).isEqualTo(2);
        assertThat(none.err()).contains("Missing command").contains("Usage: kcfs");
        CliRun r = kcfs("mkcomposefs", src.toString());
        assertThat(r.rc()).as("%s", r).isEqualTo(2);
        assertThat(r.err()).contains("No destination path specified").contains("Usage:");
        assertThat(
                        kcfs(
                                        "mkcomposefs",
                                        "--version",
                                        "1",
                                        "--max-version",
                                        "1",
                                        src.toString(),
                                        "x")
                                .err())
                .contains("either --version or");
        assertThat(kcfs("mkcomposefs", "--version", "2", src.toString(), "x").err())
                .contains("unsupported format version 2");
        assertThat(kcfs("mkcomposefs", "--threads", "0", src.toString(), "x").rc()).isEqualTo(2);
        assertThat(kcfs("mkcomposefs", "--print-digest-only", src.toString(), "x").err())
                .contains("leave IMAGE out");
        assertThat(kcfs("mkcomposefs", "--from-file", "--use-epoch", "a.dump", "x").rc())
                .isEqualTo(2);
        assertThat(kcfs("mkcomposefs", "--bogus", src.toString(), "x").err())
                .contains("Unknown option: '--bogus'");
        CliRun info = kcfs("info");
        assertThat(info.rc()).isEqualTo(2);
        assertThat(info.err()).contains("No command specified");
        assertThat(kcfs("info", "frobnicate", "x.cfs").err())
                .contains("Unknown command 'frobnicate'");
        assertThat(kcfs("info", "ls").err()).contains("No image path specified");
        assertThat(kcfs("info", "--filter=a/b", "ls", "x.cfs").err()).contains("without '/'");
    }

    @Test
    void runtimeFailuresExitOneNamingTheInputWithoutStackTrace() throws IOException {
        Path missing = tmp.resolve("missing");
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        CliRun r = kcfs("mkcomposefs", missing.toString(), out.resolve("x.cfs").toString());
        assertThat(r.rc()).as("%s", r).isEqualTo(1);
        assertThat(r.err())
                .startsWith("kcfs: " + missing)
                .contains("no such file or directory")
                .doesNotContain("\tat ");
        assertThat(filesIn(out)).isEmpty();

        CliRun debug =
                kcfs("--debug", "mkcomposefs", missing.toString(), out.resolve("x.cfs").toString());
        assertThat(debug.rc()).isEqualTo(1);
        assertThat(debug.err()).contains("\tat dev.kcfs.");

        CliRun noDir = kcfs("mkcomposefs", src.toString(), tmp.resolve("nodir/x.cfs").toString());
        assertThat(noDir.rc()).isEqualTo(1);
        assertThat(noDir.err())
                .isEqualTo(
                        "kcfs: cannot create the image "
                                + tmp.resolve("nodir/x.cfs")
                                + ": directory "
                                + tmp.resolve("nodir")
                                + " does not exist\n");

        CliRun measureDir = kcfs("info", "measure-file", src.toString());
        assertThat(measureDir.err())
                .isEqualTo("kcfs: " + src + ": cannot measure: Is a directory\n");

        CliRun notImage = kcfs("info", "ls", src.resolve("d/big").toString());
        assertThat(notImage.rc()).as("%s", notImage).isEqualTo(1);
        assertThat(notImage.err())
                .contains(src.resolve("d/big").toString())
                .doesNotContain("\tat ");
    }

    @Test
    void badDumpNamesFileAndLineAndLeavesNoImage() throws IOException {
        Path dump = tmp.resolve("bad.dump");
        Files.writeString(
                dump, "/ 4096 40755 2 0 0 0 0.0 - - -\n/x 0 100644 1 0 0 0 notatime - - -\n");
        Path out = Files.createDirectories(tmp.resolve("out"));
        CliRun r =
                kcfs(
                        "mkcomposefs",
                        "--from-file",
                        dump.toString(),
                        out.resolve("x.cfs").toString());
        assertThat(r.rc()).as("%s", r).isEqualTo(1);
        assertThat(r.err()).startsWith("kcfs: " + dump + ": line 2: ");
        assertThat(filesIn(out)).isEmpty();

        CliRun stdin =
                kcfsWithInput(
                        "garbage\n".getBytes(StandardCharsets.UTF_8),
                        "mkcomposefs",
                        "--from-file",
                        "-",
                        out.resolve("x.cfs").toString());
        assertThat(stdin.rc()).isEqualTo(1);
        assertThat(stdin.err()).startsWith("kcfs: <stdin>: line 1: ");
        assertThat(filesIn(out)).isEmpty();
    }

    @Test
    void failedRewriteKeepsTheOldImage() throws IOException {
        Path image = tmp.resolve("img.cfs");
        assertThat(kcfs("mkcomposefs", src.toString(), image.toString()).rc()).isZero();
        byte[] before = Files.readAllBytes(image);
        Path dump = Files.writeString(tmp.resolve("bad.dump"), "not a dump\n");
        assertThat(kcfs("mkcomposefs", "--from-file", dump.toString(), image.toString()).rc())
                .isEqualTo(1);
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
        assertThat(filesIn(tmp)).containsExactly("bad.dump", "img.cfs", "src");
    }

    @Test
    void refusesToWriteAnImageToATerminal() {
        CliRun r = CliRun.run(new byte[0], true, "mkcomposefs", src.toString(), "-");
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("stdout is a terminal");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void stdoutImageFileImageAndPrintedDigestsAgree() throws Exception {
        Path image = tmp.resolve("img.cfs");
        CliRun file = kcfs("mkcomposefs", "--print-digest", src.toString(), image.toString());
        assertThat(file.rc()).as("%s", file).isZero();
        String fsverity = tool("fsverity", "digest", "--compact", image.toString()).trim();
        assertThat(file.outText()).isEqualTo(fsverity + "\n");

        CliRun stdout = kcfs("mkcomposefs", src.toString(), "-");
        assertThat(stdout.rc()).isZero();
        assertThat(stdout.out()).isEqualTo(Files.readAllBytes(image));

        CliRun only = kcfs("mkcomposefs", "--print-digest-only", src.toString());
        assertThat(only.outText()).isEqualTo(fsverity + "\n");

        assertThat(Files.getPosixFilePermissions(image))
                .extracting(Object::toString)
                .containsExactlyInAnyOrder(
                        "OWNER_READ", "OWNER_WRITE", "GROUP_READ", "OTHERS_READ");
        assertThat(tool("fsck.erofs", image.toString())).doesNotContain("corrupt");
    }

    @Test
    void formatVersionFollowsUpstreamRules() throws Exception {
        Path dump = tmp.resolve("wh.dump");
        Files.writeString(dump, "/ 4096 40755 2 0 0 0 0.0 - - -\n/wh 0 20000 1 0 0 0 0.0 - - -\n");
        Path plain = tmp.resolve("plain.dump");
        Files.writeString(plain, "/ 4096 40755 2 0 0 0 0.0 - - -\n/f 0 100644 1 0 0 0 0.0 - - -\n");
        record Case(Path dump, List<String> flags, int version) {}
        List<Case> cases =
                List.of(
                        new Case(plain, List.of(), 0),
                        new Case(dump, List.of(), 1),
                        new Case(dump, List.of("--max-version=0"), 0),
                        new Case(
                                dump,
                                List.of("--min-version=1"),
                                1), // max defaults to 0, raised to min
                        new Case(plain, List.of("--min-version=1"), 1),
                        new Case(dump, List.of("--version=0"), 0),
                        new Case(plain, List.of("--version=1"), 1));
        int i = 0;
        for (Case c : cases) {
            Path image = tmp.resolve("v" + i++ + ".cfs");
            List<String> args = new java.util.ArrayList<>(List.of("mkcomposefs", "--from-file"));
            args.addAll(c.flags());
            args.add(c.dump().toString());
            args.add(image.toString());
            CliRun r = kcfs(args.toArray(String[]::new));
            assertThat(r.rc()).as("%s %s", c, r).isZero();
            assertThat(headerVersion(image)).as("%s", c).isEqualTo(c.version());
        }
    }

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
    void scanOptionsReachTheImage() throws Exception {
        byte[] v = "v".getBytes(StandardCharsets.UTF_8);
        LibC.INSTANCE.lsetxattr(
                src.resolve("small").toString(), "user.x", v, new NativeLong(v.length), 0);
        String plain = dumpOf("mkcomposefs", "--threads=1", src.toString());
        assertThat(plain).contains(" user.x=v\n").doesNotContain(" 0.0 ");
        assertThat(dumpOf("mkcomposefs", src.toString()))
                .as("thread count does not matter")
                .isEqualTo(plain);
        assertThat(dumpOf("mkcomposefs", "--skip-xattrs", src.toString())).doesNotContain("user.x");
        assertThat(dumpOf("mkcomposefs", "--user-xattrs", src.toString())).contains(" user.x=v\n");
        String epoch = dumpOf("mkcomposefs", "--use-epoch", src.toString());
        assertThat(epoch.lines()).allSatisfy(l -> assertThat(l.split(" ")[7]).isEqualTo("0.0"));
    }

    /** Builds an image with these arguments plus an image path, returns its dump. */
    private String dumpOf(String... args) throws IOException {
        Path image = Files.createTempFile(tmp, "img", ".cfs");
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.add(image.toString());
        CliRun r = kcfs(all.toArray(String[]::new));
        assertThat(r.rc()).as("%s", r).isZero();
        return kcfs("info", "dump", image.toString()).outText();
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
