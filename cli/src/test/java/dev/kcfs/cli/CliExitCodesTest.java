package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.kcfs;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * How {@code kcfs mkcomposefs} and {@code kcfs info} end when they cannot do their work: exit 2
 * with the reason and the usage for a bad command line, exit 1 naming the input, without a stack
 * trace unless --debug, for a failure while working.
 */
class CliExitCodesTest extends SourceTreeTest {
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
}
