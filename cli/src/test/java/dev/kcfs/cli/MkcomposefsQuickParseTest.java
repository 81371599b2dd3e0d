package dev.kcfs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The picocli-free path of {@code mkcomposefs} takes plain lines and leaves everything else to picocli. */
class MkcomposefsQuickParseTest {

    private static MkcomposefsCommand parse(String line) {
        return MkcomposefsCommand.quickParse(("mkcomposefs " + line).split(" "));
    }

    @Test
    void plainLinesAreParsed() {
        MkcomposefsCommand c = parse("--from-file --print-digest d.dump out.cfs");
        assertThat(c).isNotNull();
        assertThat(c.fromFile).isTrue();
        assertThat(c.printDigest).isTrue();
        assertThat(c.source).isEqualTo("d.dump");
        assertThat(c.imageFile).isEqualTo("out.cfs");

        c =
                parse(
                        "--threads=3 --digest-store /s --use-epoch --skip-devices --user-xattrs --version 1 /src -");
        assertThat(c).isNotNull();
        assertThat(c.scan.threads).isEqualTo(3);
        assertThat(c.digestStore).isEqualTo(Path.of("/s"));
        assertThat(c.scan.useEpoch).isTrue();
        assertThat(c.scan.skipDevices).isTrue();
        assertThat(c.scan.userXattrs).isTrue();
        assertThat(c.version).isEqualTo(1);
        assertThat(c.imageFile).isEqualTo("-");

        c = parse("--min-version=1 --max-version=1 --print-digest-only /src");
        assertThat(c).isNotNull();
        assertThat(c.minVersion).isEqualTo(1);
        assertThat(c.maxVersion).isEqualTo(1);
        assertThat(c.imageFile).isNull();
    }

    /**
     * The two parsers agree on every option and operand, defaults included: each field picocli
     * fills is compared, so an option added to the command with a default of its own fails here
     * until the quick path leaves it to picocli or sets the same value.
     */
    @ParameterizedTest
    @ValueSource(
            strings = {
                "/src out",
                "--from-file d.dump out.cfs",
                "--from-file --print-digest d.dump out.cfs",
                "--threads=3 --digest-store /s --use-epoch --skip-devices --user-xattrs --version 1 /src -",
                "--skip-xattrs --threads 1 /src out",
                "--min-version=1 --max-version=1 --print-digest-only /src",
                "--lenient --from-file - out",
                "--no-prefetch /src out"
            })
    void picocliReadsPlainLinesTheSameWay(String line) throws Exception {
        String[] args = ("mkcomposefs " + line).split(" ");
        MkcomposefsCommand quick = MkcomposefsCommand.quickParse(args);
        assertThat(quick).as("taken by the quick path: %s", line).isNotNull();
        CommandLine cl =
                new CommandLine(
                        new Kcfs(
                                InputStream.nullInputStream(),
                                new PrintStream(OutputStream.nullOutputStream()),
                                new PrintStream(OutputStream.nullOutputStream()),
                                () -> false));
        MkcomposefsCommand picocli =
                (MkcomposefsCommand) cl.parseArgs(args).subcommand().commandSpec().userObject();
        for (Object[] pair : new Object[][] {{quick, picocli}, {quick.scan, picocli.scan}}) {
            for (Field f : pair[0].getClass().getDeclaredFields()) {
                if (f.isAnnotationPresent(CommandLine.Option.class)
                        || f.isAnnotationPresent(CommandLine.Parameters.class)) {
                    f.setAccessible(true);
                    assertThat(f.get(pair[0]))
                            .as("%s in '%s'", f.getName(), line)
                            .isEqualTo(f.get(pair[1]));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "--threads 0x2 /src out",
                "--threads=010 /src out",
                "--threads=-1 /src out",
                "--threads= /src out",
                "--from-file --from-file d out",
                "--from-file=true d out",
                "@args",
                "/src @out",
                "-- /src out",
                "-h",
                "--help",
                "--unknown /src out",
                "/src out extra",
                "--threads",
                "--digest-store",
                "--debug",
                "--version 99999999 /src out"
            })
    void anythingElseIsLeftToPicocli(String line) {
        assertThat(parse(line)).as(line).isNull();
    }

    @Test
    void usageErrorsStillComeFromPicocli() {
        CliRun r = CliRun.kcfs("mkcomposefs", "--print-digest-only", "/src", "out");
        assertThat(r.rc()).as("%s", r).isEqualTo(2);
        assertThat(r.err())
                .contains("--print-digest-only writes no image")
                .contains("Usage: kcfs mkcomposefs");
    }
}
