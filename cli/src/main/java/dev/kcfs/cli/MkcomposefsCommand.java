package dev.kcfs.cli;

import dev.kcfs.image.erofs.ErofsFormat;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.tree.Directory;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerityHasher;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code kcfs mkcomposefs}: upstream mkcomposefs 1.0.8, same flags, same image bytes. */
@Command(
        name = "mkcomposefs",
        sortOptions = false,
        description = {
            "Build a composefs image from a directory or a dump file.",
            "Regular files over 64 bytes are referenced by fs-verity digest; --digest-store copies them into an object directory."
        })
final class MkcomposefsCommand implements Callable<Integer> {
    @ParentCommand Kcfs kcfs;

    @Spec CommandSpec spec;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Option(
            names = "--digest-store",
            paramLabel = "DIR",
            description =
                    "Copy file bodies into this object directory as DIR/ab/cdef... (atomically, durable before the image appears).")
    Path digestStore;

    @Option(names = "--print-digest", description = "Print the image's fs-verity digest.")
    boolean printDigest;

    @Option(
            names = "--print-digest-only",
            description = "Print the image's fs-verity digest and write nothing (leave IMAGE out).")
    boolean printDigestOnly;

    @Mixin ScanOptions scan;

    @Option(
            names = "--from-file",
            description = "SOURCE is a composefs-dump(5) file; - reads standard input.")
    boolean fromFile;

    @Option(
            names = "--lenient",
            description =
                    "With --from-file: accept what upstream accepts without CFS_PARSE_STRICT.")
    boolean lenient;

    @Option(
            names = "--version",
            paramLabel = "N",
            description = "Format version (sets --min-version and --max-version).")
    Integer version;

    @Option(
            names = "--min-version",
            paramLabel = "N",
            description = "Lowest format version (default 0).")
    Integer minVersion;

    @Option(
            names = "--max-version",
            paramLabel = "N",
            description =
                    "Highest format version (default 1; only one of min/max given: the other is 0). Version 1 is used only if the tree has whiteouts.")
    Integer maxVersion;

    @Parameters(
            index = "0",
            paramLabel = "SOURCE",
            description = "Source directory, or dump file with --from-file.")
    String source;

    @Parameters(
            index = "1",
            arity = "0..1",
            paramLabel = "IMAGE",
            description = "Image to write; - writes to standard output.")
    String imageFile;

    @Override
    public Integer call() throws IOException {
        int[] versions = versions();
        checkArguments();
        try (DigestStoreBatch store =
                digestStore != null ? DigestStoreBatch.open(digestStore) : null) {
            Directory root =
                    fromFile
                            ? parseDump()
                            : new DirectoryScanner(scan.toOptions())
                                    .scan(Path.of(source), store != null ? store::add : null)
                                    .root();
            if (printDigestOnly) {
                DigestingOutputStream sink =
                        new DigestingOutputStream(OutputStream.nullOutputStream());
                Formats.writeImage(root, versions[0], versions[1], sink);
                kcfs.out().println(sink.digest().hex());
                return 0;
            }
            if (imageFile.equals("-")) {
                if (store != null) {
                    store.commit();
                }
                Formats.writeImage(root, versions[0], versions[1], kcfs.out());
                return 0;
            }
            Digest digest = writeAtomically(Path.of(imageFile), root, versions, store);
            if (printDigest) {
                kcfs.out().println(digest.hex());
            }
            return 0;
        }
    }

    private Directory parseDump() throws IOException {
        if (source.equals("-")) {
            return Formats.parseDump(kcfs.in(), "<stdin>", lenient);
        }
        try (InputStream in = Files.newInputStream(Path.of(source))) {
            return Formats.parseDump(in, source, lenient);
        }
    }

    /** [min, max] with upstream's rules (docs/format.md, 'Format versions'). */
    int[] versions() {
        int min;
        int max;
        if (version != null) {
            if (minVersion != null || maxVersion != null) {
                throw usage(
                        "--version sets both --min-version and --max-version; give either --version or those two");
            }
            min = version;
            max = version;
        } else if (minVersion == null && maxVersion == null) {
            min = ErofsFormat.MIN_FORMAT_VERSION;
            max = ErofsFormat.MAX_FORMAT_VERSION;
        } else {
            min = minVersion != null ? minVersion : 0;
            max = maxVersion != null ? maxVersion : 0;
        }
        if (max < min) {
            max = min;
        }
        if (!ErofsFormat.isSupportedFormatVersion(min)
                || !ErofsFormat.isSupportedFormatVersion(max)) {
            throw usage(
                    "unsupported format version "
                            + (ErofsFormat.isSupportedFormatVersion(min) ? max : min)
                            + ": kcfs writes versions "
                            + ErofsFormat.MIN_FORMAT_VERSION
                            + " to "
                            + ErofsFormat.MAX_FORMAT_VERSION);
        }
        return new int[] {min, max};
    }

    private void checkArguments() {
        if (printDigestOnly && imageFile != null) {
            throw usage("--print-digest-only writes no image: leave IMAGE out");
        }
        if (!printDigestOnly && imageFile == null) {
            throw usage("No destination path specified");
        }
        if (fromFile && (digestStore != null || scan.anyTreeOption())) {
            throw usage(
                    "--digest-store, --use-epoch, --skip-devices, --skip-xattrs and --user-xattrs apply to a"
                            + " directory SOURCE; a dump already says what the image holds");
        }
        if (lenient && !fromFile) {
            throw usage("--lenient applies to dump parsing: use it with --from-file");
        }
        if (scan.problem() != null) {
            throw usage(scan.problem());
        }
        if ("-".equals(imageFile) && !printDigestOnly && kcfs.stdoutIsTerminal()) {
            throw new CommandException(
                    "stdout is a terminal: refusing to write a binary image there (redirect it, or give a file name)");
        }
        if (imageFile != null && !imageFile.equals("-")) {
            // fail before a long scan, not after it
            Path dir = Path.of(imageFile).toAbsolutePath().getParent();
            if (!Files.isDirectory(dir)) {
                throw new CommandException(
                        "cannot create the image "
                                + imageFile
                                + ": directory "
                                + dir
                                + " does not exist");
            }
            if (!Files.isWritable(dir)) {
                throw new CommandException(
                        "cannot create the image "
                                + imageFile
                                + ": directory "
                                + dir
                                + " is not writable");
            }
            if (Files.isDirectory(Path.of(imageFile))) {
                throw new CommandException(
                        "cannot create the image "
                                + imageFile
                                + ": it is a directory; give the image file name");
            }
        }
        if ("-".equals(imageFile) && printDigest) {
            throw usage(
                    "--print-digest with IMAGE - would mix the digest into the image on standard output");
        }
    }

    /**
     * Writes the image to a temporary file beside the target, makes it durable, commits the object
     * store, then renames: readers see either no image or the whole one, and an image never
     * refers to objects that are not durable yet. Returns the image's fs-verity digest with
     * {@code --print-digest}, else null.
     */
    private Digest writeAtomically(
            Path target, Directory root, int[] versions, DigestStoreBatch store)
            throws IOException {
        if (Files.isDirectory(target)) {
            throw new CommandException(target + ": is a directory; give the image file name");
        }
        Path dir = target.toAbsolutePath().getParent();
        Path temp;
        try {
            temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        } catch (IOException e) {
            throw new CommandException(
                    "cannot create the image " + target + ": " + Failures.reason(e), e);
        }
        boolean done = false;
        try {
            Digest digest;
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                // hash the image only when asked: the bin/kcfs JIT choice for dumps (C1) has no
                // SHA-256 intrinsic
                OutputStream file = Channels.newOutputStream(ch);
                DigestingOutputStream digesting =
                        printDigest ? new DigestingOutputStream(file) : null;
                OutputStream out = digesting != null ? digesting : file;
                Formats.writeImage(root, versions[0], versions[1], out);
                out.flush();
                ch.force(true);
                digest = digesting != null ? digesting.digest() : null;
            } catch (IOException e) {
                if (e.getClass().getName().startsWith("dev.kcfs.")) {
                    throw e; // the tree cannot be written: the writer's message says why
                }
                throw new CommandException(
                        "cannot write the image " + target + ": " + Failures.reason(e), e);
            }
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
            if (store != null) {
                store.commit();
            }
            try {
                Files.move(
                        temp,
                        target,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new CommandException(
                        "cannot write the image " + target + ": " + Failures.reason(e), e);
            }
            done = true;
            return digest;
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Passes bytes through while computing their fs-verity digest (for --print-digest). */
    static final class DigestingOutputStream extends FilterOutputStream {
        private final FsVerityHasher hasher = new FsVerityHasher();

        DigestingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            hasher.update(new byte[] {(byte) b});
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            hasher.update(b, off, len);
            out.write(b, off, len);
        }

        Digest digest() {
            return hasher.digest();
        }
    }

    private ParameterException usage(String message) {
        if (spec == null) {
            throw new QuickFallback(); // parsed by quickRun: let picocli parse it again and report
        }
        return new ParameterException(spec.commandLine(), message);
    }

    // -------------------------------------------------------------------------------------------
    // the common command lines without picocli

    /**
     * Runs the common command lines (known options, one or two operands) without building
     * picocli's model, which costs ~0.25 s of CPU per process, a third of a whole dump -> image
     * run (bench/README.md, issue 13). Returns null, having done nothing, when the line holds
     * anything else or fails a check: picocli then parses it again and reports as usual, so
     * messages and exit codes are picocli's in every case this path does not run to the end.
     */
    static Integer quickRun(Kcfs kcfs, String[] args) {
        MkcomposefsCommand c = quickParse(args);
        if (c == null) {
            return null;
        }
        c.kcfs = kcfs;
        if (c.debugFlag) {
            kcfs.debug = true;
        }
        try {
            c.versions();
            c.checkArguments();
        } catch (RuntimeException e) {
            return null;
        }
        try {
            return c.call();
        } catch (Exception | OutOfMemoryError e) {
            return kcfs.failed(e); // what picocli's execution exception handler does
        }
    }

    private boolean debugFlag;

    private static final class QuickFallback extends RuntimeException {
        private static final long serialVersionUID = 1L;

        QuickFallback() {
            super(null, null, false, false);
        }
    }

    /** args[0] is "mkcomposefs"; null for anything but plain known options and operands. */
    static MkcomposefsCommand quickParse(String[] args) {
        MkcomposefsCommand c = new MkcomposefsCommand();
        c.scan = new ScanOptions();
        java.util.Set<String> seen = new java.util.HashSet<>();
        int operands = 0;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-") || !a.startsWith("-")) {
                if (a.startsWith("@") || operands == 2) {
                    return null; // picocli expands @argument files
                }
                if (operands++ == 0) {
                    c.source = a;
                } else {
                    c.imageFile = a;
                }
                continue;
            }
            int eq = a.indexOf('=');
            String name = eq < 0 ? a : a.substring(0, eq);
            if (!seen.add(name)) {
                return null; // picocli rejects repeated options
            }
            boolean flag = true;
            switch (name) {
                case "--from-file" -> c.fromFile = true;
                case "--print-digest" -> c.printDigest = true;
                case "--print-digest-only" -> c.printDigestOnly = true;
                case "--lenient" -> c.lenient = true;
                case "--debug" -> c.debugFlag = true;
                case "--use-epoch" -> c.scan.useEpoch = true;
                case "--skip-devices" -> c.scan.skipDevices = true;
                case "--skip-xattrs" -> c.scan.skipXattrs = true;
                case "--user-xattrs" -> c.scan.userXattrs = true;
                case "--no-prefetch" -> c.scan.noPrefetch = true;
                default -> flag = false;
            }
            if (flag) {
                if (eq >= 0) {
                    return null;
                }
                continue;
            }
            String value;
            if (eq >= 0) {
                value = a.substring(eq + 1);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                return null;
            }
            if (value.isEmpty() || value.startsWith("-") || value.startsWith("@")) {
                return null;
            }
            if (name.equals("--digest-store")) {
                try {
                    c.digestStore = Path.of(value);
                } catch (RuntimeException e) {
                    return null;
                }
                continue;
            }
            Integer n = smallDecimal(value);
            if (n == null) {
                return null;
            }
            switch (name) {
                case "--threads" -> c.scan.threads = n;
                case "--version" -> c.version = n;
                case "--min-version" -> c.minVersion = n;
                case "--max-version" -> c.maxVersion = n;
                default -> {
                    return null;
                }
            }
        }
        return operands == 0 ? null : c;
    }

    /** Plain decimal digits without a leading zero (picocli would also take 0x.., #.., 0..). */
    private static Integer smallDecimal(String s) {
        if (s.length() > 6 || (s.length() > 1 && s.charAt(0) == '0')) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return null;
            }
        }
        return Integer.valueOf(s);
    }
}
