package dev.kcfs.cli;

import dev.kcfs.linux.PathBytes;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Symlink;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.KernelVerity;
import dev.kcfs.verity.VerityException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code kcfs info}: upstream composefs-info's commands and output. */
@Command(
        name = "info",
        sortOptions = false,
        description = {
            "Show what composefs images hold.",
            "  ls               entries with symlink targets and backing objects",
            "  objects          backing objects of all IMAGEs (sorted, unique)",
            "  missing-objects  those of them not under --basedir",
            "  dump             the composefs-dump(5) text of each IMAGE",
            "  measure-file     fs-verity digest of each FILE"
        })
final class InfoCommand implements Callable<Integer> {
    @ParentCommand Kcfs kcfs;

    @Spec CommandSpec spec;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Option(
            names = "--basedir",
            paramLabel = "DIR",
            description = "Object directory for missing-objects.")
    Path basedir;

    @Option(
            names = "--filter",
            paramLabel = "NAME",
            description = "Load only this top-level entry (repeatable).")
    List<String> filters = new ArrayList<>();

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "COMMAND",
            description = "ls, objects, missing-objects, dump or measure-file.")
    String command;

    @Parameters(
            index = "1..*",
            paramLabel = "IMAGE",
            description = "Images (files for measure-file).")
    List<String> files = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if (command == null) {
            throw usage("No command specified");
        }
        if (!List.of("ls", "objects", "missing-objects", "dump", "measure-file")
                .contains(command)) {
            throw usage("Unknown command '" + command + "'");
        }
        if (files.isEmpty()) {
            throw usage(
                    command.equals("measure-file")
                            ? "No file specified"
                            : "No image path specified");
        }
        List<byte[]> filter = new ArrayList<>();
        for (String f : filters) {
            if (f.isEmpty() || f.contains("/")) {
                throw usage("--filter takes a top-level name without '/', got '" + f + "'");
            }
            filter.add(f.getBytes(StandardCharsets.UTF_8));
        }
        if (basedir != null && !Files.isDirectory(basedir)) {
            throw new CommandException("Can't open basedir " + basedir + ": not a directory");
        }
        PrintStream out = kcfs.out();
        if (command.equals("measure-file")) {
            KernelVerity kernel = new KernelVerity();
            for (String f : files) {
                try {
                    out.println(measure(kernel, Path.of(f)).hex());
                } catch (IOException e) {
                    throw new CommandException(f + ": cannot measure: " + Failures.reason(e), e);
                }
            }
            return 0;
        }
        TreeSet<byte[]> objects = new TreeSet<>(Arrays::compareUnsigned);
        for (String f : files) {
            Directory root = load(f, filter);
            switch (command) {
                case "ls":
                    ls(root, new byte[0], out);
                    break;
                case "dump":
                    Formats.printDump(root, out);
                    break;
                default:
                    collectObjects(root, objects);
                    break;
            }
        }
        for (byte[] payload : objects) {
            if (command.equals("missing-objects") && basedir != null && present(payload)) {
                continue;
            }
            out.write(payload);
            out.write('\n');
        }
        return 0;
    }

    /**
     * Like composefs-info: the kernel's measurement when the file has fs-verity enabled, else
     * computed here (same value; for empty files the kernel's all-zero root hash, see docs/format.md, 'fs-verity digests').
     */
    private static Digest measure(KernelVerity kernel, Path file) throws IOException {
        try {
            KernelVerity.Measurement m = kernel.measure(file);
            if (m.status() == KernelVerity.Measurement.Status.MEASURED) {
                return m.digest();
            }
        } catch (VerityException e) {
            // unreadable or odd file: computing it below reports the problem
        }
        return FsVerity.digest(file);
    }

    private Directory load(String imageFile, List<byte[]> filter) throws IOException {
        Path p = Path.of(imageFile);
        if (!Files.exists(p)) {
            throw new CommandException("Failed to open '" + imageFile + "': no such file");
        }
        if (Files.isDirectory(p)) {
            throw new CommandException(
                    "'"
                            + imageFile
                            + "' is a directory, not a composefs image (make one with kcfs mkcomposefs)");
        }
        return Formats.readImage(p, filter);
    }

    private boolean present(byte[] payload) {
        int start = 0;
        while (start < payload.length && payload[start] == '/') {
            start++;
        }
        byte[] base = basedir.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream path = new ByteArrayOutputStream();
        path.writeBytes(base);
        path.write('/');
        path.write(payload, start, payload.length - start);
        return Files.exists(PathBytes.pathOf(path.toByteArray()));
    }

    /** Depth-first, children in order: path, then "/" TAB for dirs, TAB "-> target", TAB "@ payload". */
    static void ls(Directory dir, byte[] parentPath, PrintStream out) {
        for (Map.Entry<byte[], Inode> e : dir.children().entrySet()) {
            byte[] path = new byte[parentPath.length + 1 + e.getKey().length];
            System.arraycopy(parentPath, 0, path, 0, parentPath.length);
            path[parentPath.length] = '/';
            System.arraycopy(e.getKey(), 0, path, parentPath.length + 1, e.getKey().length);
            Inode inode = e.getValue();
            escape(out, path, true);
            if (inode instanceof Directory) {
                out.print("/\t");
            } else if (inode instanceof Symlink s) {
                out.print("\t-> ");
                escape(out, s.target(), false);
            } else if (inode instanceof RegularFile f && f.payload() != null) {
                out.print("\t@ ");
                escape(out, f.payload(), false);
            }
            out.write('\n');
            if (inode instanceof Directory d) {
                ls(d, path, out);
            }
        }
    }

    static void collectObjects(Directory dir, TreeSet<byte[]> into) {
        for (Inode inode : dir.children().values()) {
            if (inode instanceof RegularFile f && f.payload() != null) {
                into.add(f.payload());
            } else if (inode instanceof Directory d) {
                collectObjects(d, into);
            }
        }
    }

    /**
     * composefs-info's escaping for ls: backslash escapes for \\ \n \r \t, \xNN for bytes that are
     * not printable ASCII; spaces stay as they are in paths.
     */
    static void escape(PrintStream out, byte[] s, boolean keepSpace) {
        for (byte value : s) {
            int c = value & 0xff;
            switch (c) {
                case '\\':
                    out.print("\\\\");
                    break;
                case '\n':
                    out.print("\\n");
                    break;
                case '\r':
                    out.print("\\r");
                    break;
                case '\t':
                    out.print("\\t");
                    break;
                default:
                    boolean printable =
                            keepSpace ? (c >= 0x20 && c < 0x7f) : (c > 0x20 && c < 0x7f);
                    if (printable) {
                        out.write(c);
                    } else {
                        out.print(String.format("\\x%02x", c));
                    }
            }
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
