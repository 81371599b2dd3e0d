package dev.kcfs.cli;

import dev.kcfs.linux.LibC;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code kcfs} command. Owns the process streams so tests can run it in-process with captured
 * ones. Exit codes: 0 success, 1 runtime failure (a message naming the input and the problem on
 * stderr), 2 usage error.
 */
@Command(
        name = "kcfs",
        mixinStandardHelpOptions = true,
        versionProvider = Kcfs.Version.class,
        description = "composefs images for Kubernetes.",
        subcommands = {
            MkcomposefsCommand.class,
            InfoCommand.class,
            MountCommand.class,
            UmountCommand.class,
            StoreCommand.class,
            PullCommand.class
        })
public final class Kcfs implements Runnable {
    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;

    /** Asked only when an image goes to stdout, so other commands do not pay for loading JNA. */
    private final BooleanSupplier stdoutIsTerminal;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--debug",
            scope = ScopeType.INHERIT,
            description = "Print stack traces of failures.")
    boolean debug;

    public Kcfs(
            InputStream in, PrintStream out, PrintStream err, BooleanSupplier stdoutIsTerminal) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.stdoutIsTerminal = stdoutIsTerminal;
    }

    public static void main(String[] args) {
        // binary-safe, buffered stdout: images and dumps are bytes, not text
        PrintStream out =
                new PrintStream(
                        new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
                        false);
        PrintStream err =
                new PrintStream(
                        new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int rc =
                new Kcfs(
                                new FileInputStream(FileDescriptor.in),
                                out,
                                err,
                                () -> LibC.INSTANCE.isatty(1) == 1)
                        .execute(args);
        out.flush();
        System.exit(rc);
    }

    /** Runs one command line; returns the exit code. */
    public int execute(String... args) {
        if (args.length > 0 && args[0].equals("mkcomposefs")) {
            Integer rc = MkcomposefsCommand.quickRun(this, args);
            if (rc != null) {
                out.flush();
                return rc;
            }
        }
        CommandLine cl = new CommandLine(this);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setExecutionExceptionHandler((e, line, parseResult) -> failed(e));
        int rc = cl.execute(args);
        out.flush();
        return rc;
    }

    /** Reports a failed command (no stack trace unless --debug); returns the exit code 1. */
    int failed(Throwable e) {
        err.println("kcfs: " + Failures.describe(e));
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                spec.commandLine(), "Missing command (see --help)");
    }

    InputStream in() {
        return in;
    }

    PrintStream out() {
        return out;
    }

    PrintStream err() {
        return err;
    }

    boolean stdoutIsTerminal() {
        return stdoutIsTerminal.getAsBoolean();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            java.util.Properties p = new java.util.Properties();
            try (InputStream in = Kcfs.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            String v = p.getProperty("version", "");
            // unfiltered (an IDE build that skipped Maven's resource filtering): say so rather than
            // print ${...}
            return new String[] {
                "kcfs "
                        + (v.isEmpty() || v.startsWith("${")
                                ? "(version unknown: not built with Maven)"
                                : v)
            };
        }
    }
}
