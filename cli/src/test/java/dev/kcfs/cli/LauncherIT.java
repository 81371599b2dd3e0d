package dev.kcfs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.testing.SharedAssets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/kcfs} as a process: exit codes, streams, pipes. Runs in the integration-test phase,
 * after package built the jars. Alone: {@code ./mvnw -pl core,cli package -DskipTests} first, then
 * {@code ./mvnw -pl core,cli verify -Dtest=LauncherIT} (-Dtest also runs it in the test phase).
 */
class LauncherIT {
    @TempDir Path tmp;

    record Proc(int rc, byte[] out, String err) {
        String outText() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    static Proc bash(String script) throws IOException, InterruptedException {
        Path kcfs = SharedAssets.repoRoot().resolve("bin/kcfs");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "bash",
                                "-c",
                                "set -o pipefail; kcfs=\"$0\"; " + script,
                                kcfs.toString()));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Proc(p.waitFor(), out, err);
    }

    @Test
    void buildsListsAndRoundTripsThroughPipes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/d"));
        Files.writeString(src.resolve("hello"), "hello\n");
        Files.write(src.resolve("big"), new byte[10_000]);
        Path image = tmp.resolve("img.cfs");

        Proc mk = bash("\"$kcfs\" mkcomposefs --print-digest " + tmp.resolve("src") + " " + image);
        assertThat(mk.rc()).as(mk.err()).isZero();
        assertThat(mk.outText()).matches("[0-9a-f]{64}\n");

        Proc ls = bash("\"$kcfs\" info ls " + image);
        assertThat(ls.outText())
                .isEqualTo("/d/\t\n/d/big\t@ " + objectPath(src.resolve("big")) + "\n/d/hello\n");

        Proc pipe =
                bash(
                        "\"$kcfs\" info dump "
                                + image
                                + " | \"$kcfs\" mkcomposefs --from-file - - | cmp - "
                                + image);
        assertThat(pipe.rc()).as(pipe.err()).isZero();
    }

    @Test
    void exitCodesAndMessages() throws Exception {
        Proc missing =
                bash("\"$kcfs\" mkcomposefs " + tmp.resolve("nope") + " " + tmp.resolve("x.cfs"));
        assertThat(missing.rc()).isEqualTo(1);
        assertThat(missing.err())
                .startsWith("kcfs: " + tmp.resolve("nope"))
                .doesNotContain("\tat ");
        assertThat(missing.err().lines()).hasSize(1);
        assertThat(Files.exists(tmp.resolve("x.cfs"))).isFalse();

        Proc usage = bash("\"$kcfs\" mkcomposefs");
        assertThat(usage.rc()).isEqualTo(2);
        assertThat(usage.err()).contains("Usage: kcfs mkcomposefs");
    }

    static String objectPath(Path file) throws IOException, InterruptedException {
        String hex = CliRun.tool("fsverity", "digest", "--compact", file.toString()).trim();
        return hex.substring(0, 2) + "/" + hex.substring(2);
    }
}
