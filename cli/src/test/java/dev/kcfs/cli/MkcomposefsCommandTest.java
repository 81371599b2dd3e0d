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
import org.junit.jupiter.api.Test;

/**
 * {@code kcfs mkcomposefs} run in-process: the image on stdout, in a file and as a printed digest,
 * the format version and scan options it is written with, and what a failed run leaves behind.
 */
class MkcomposefsCommandTest extends SourceTreeTest {
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
}
