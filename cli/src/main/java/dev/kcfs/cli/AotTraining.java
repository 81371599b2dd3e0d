package dev.kcfs.cli;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training run of the JDK 25+ ahead-of-time cache that {@code bin/kcfs} builds once per build
 * and JDK ({@code -XX:AOTCacheOutput}; issue 13): the CLI's common work in one process, so the
 * cache holds the classes, linkage and profiles of scanning, hashing, dump parsing and image
 * writing. Not a user command.
 *
 * <p>{@code AotTraining SOURCE_DIR WORK_DIR}: builds an image of SOURCE_DIR (with an object
 * store), dumps it, and builds the image again from the dump, all inside WORK_DIR.
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: AotTraining SOURCE_DIR WORK_DIR");
            System.exit(2);
        }
        String source = args[0];
        Path work = Path.of(args[1]);
        Files.createDirectories(work);
        PrintStream err = new PrintStream(OutputStream.nullOutputStream());
        Path dir = work.resolve("dir.cfs");
        Path dump = work.resolve("dir.dump");
        int rc =
                run(
                        err,
                        null,
                        "mkcomposefs",
                        "--threads=2",
                        "--digest-store=" + work.resolve("store"),
                        source,
                        dir.toString());
        rc |= run(err, null, "mkcomposefs", "--print-digest-only", source);
        try (PrintStream out = new PrintStream(Files.newOutputStream(dump), false)) {
            rc |= run(err, out, "info", "dump", dir.toString());
        }
        rc |=
                run(
                        err,
                        null,
                        "mkcomposefs",
                        "--from-file",
                        dump.toString(),
                        work.resolve("dump.cfs").toString());
        rc |= run(err, null, "info", "ls", dir.toString());
        System.exit(rc == 0 ? 0 : 1);
    }

    private static int run(PrintStream err, PrintStream out, String... args) {
        PrintStream o = out != null ? out : new PrintStream(OutputStream.nullOutputStream());
        return new Kcfs(new ByteArrayInputStream(new byte[0]), o, err, () -> false).execute(args);
    }
}
