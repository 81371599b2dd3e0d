package dev.kcfs.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One kcfs program (bin/kcfs-operator, bin/kcfs-node) running as its own process, from the jars the
 * build packaged, with its output in a log file.
 */
final class KcfsProcess implements AutoCloseable {
    final String name;
    final Path log;
    private final Process process;

    /** Kills the process if the test JVM goes first (surefire timeout, Ctrl-C): no orphaned plugin holding mounts. */
    private final Thread reaper;

    private KcfsProcess(String name, Path log, Process process) {
        this.name = name;
        this.log = log;
        this.process = process;
        this.reaper = new Thread(process::destroyForcibly, "reap-" + name);
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    /**
     * Starts {@code bin/<launcher>} of the repository. The launcher builds the jars when they are missing;
     * inside a test that would be a nested Maven run, so their absence is an error here instead.
     */
    static KcfsProcess start(
            Path repo,
            String launcher,
            Path jar,
            List<String> args,
            Map<String, String> env,
            Path log,
            Path tmp)
            throws IOException {
        if (!Files.isRegularFile(jar) || !Files.isDirectory(jar.resolveSibling("lib"))) {
            throw new IllegalStateException(
                    jar
                            + " or its lib/ is missing: run the e2e through Maven with -am"
                            + " (e2e/run.sh) so the module is packaged before the e2e starts");
        }
        List<String> command = new ArrayList<>();
        command.add(repo.resolve("bin").resolve(launcher).toString());
        command.addAll(args);
        Files.createDirectories(log.getParent());
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        // JNA and netty unpack native libraries into TMPDIR; the node's short-lived EROFS mount
        // points go to
        // java.io.tmpdir: both in the run's own directory, cleaned with it
        Files.createDirectories(tmp);
        pb.environment().put("TMPDIR", tmp.toString());
        // small heaps: two JVMs next to the test's own, on small CI machines
        pb.environment().put("KCFS_JAVA_OPTS", "-Xmx512m -Djava.io.tmpdir=" + tmp);
        return new KcfsProcess(launcher, log, pb.start());
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Throws with the log when the process has exited: waiting on a dead process only hides why. */
    void assertAlive() {
        if (!process.isAlive()) {
            throw new AssertionError(
                    name + " exited with " + process.exitValue() + ":\n" + output());
        }
    }

    String output() {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no output)";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    /** SIGTERM (both programs stop gracefully on it), then SIGKILL after a grace period. */
    @Override
    public void close() throws InterruptedException {
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook runs anyway
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
