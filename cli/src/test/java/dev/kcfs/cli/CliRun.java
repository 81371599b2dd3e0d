package dev.kcfs.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Runs {@link Kcfs} in-process with captured streams. */
record CliRun(int rc, byte[] out, String err) {

    static CliRun kcfs(String... args) {
        return kcfsWithInput(new byte[0], args);
    }

    static CliRun kcfsWithInput(byte[] stdin, String... args) {
        return run(stdin, false, args);
    }

    static CliRun run(byte[] stdin, boolean stdoutIsTerminal, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try (PrintStream o = new PrintStream(out, true);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            rc =
                    new Kcfs(new ByteArrayInputStream(stdin), o, e, () -> stdoutIsTerminal)
                            .execute(args);
        }
        return new CliRun(rc, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    String outText() {
        return new String(out, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "rc=" + rc + "\nstdout:\n" + outText() + "\nstderr:\n" + err;
    }

    /** Runs an external tool; returns its stdout, failing the test on a non-zero exit. */
    static String tool(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        if (rc != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + rc + ":\n" + out);
        }
        return out;
    }

    /** The composefs format version in an image's header (offset 12, little-endian). */
    static int headerVersion(Path image) throws IOException {
        byte[] b = Files.readAllBytes(image);
        return (b[12] & 0xff) | (b[13] & 0xff) << 8 | (b[14] & 0xff) << 16 | (b[15] & 0xff) << 24;
    }
}
