package dev.kcfs.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs {@code fsck.erofs} (Debian package erofs-utils) on an image. */
public final class Fsck {
    private Fsck() {}

    /** The fsck.erofs binary on PATH; skips the calling test when it is not installed. */
    public static Path binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin").split(":")) {
            Path p = Path.of(dir, "fsck.erofs");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : new String[] {"/usr/sbin", "/sbin"}) {
            Path p = Path.of(dir, "fsck.erofs");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        assumeTrue(false, "skipped: fsck.erofs not installed (apt-get install erofs-utils)");
        return null;
    }

    /**
     * Asserts that fsck.erofs accepts the image; with {@code extract} also {@code --extract}, which
     * reads every file's data mapping.
     */
    public static void assertClean(Path fsck, Path image, boolean extract)
            throws IOException, InterruptedException {
        ProcessBuilder pb =
                extract
                        ? new ProcessBuilder(fsck.toString(), "--extract", image.toString())
                        : new ProcessBuilder(fsck.toString(), image.toString());
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("fsck.erofs output: %s", out).isZero();
    }
}
