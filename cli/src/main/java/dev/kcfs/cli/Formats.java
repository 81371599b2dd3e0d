package dev.kcfs.cli;

import dev.kcfs.image.dump.DumpFormatException;
import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.dump.DumpPrinter;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.tree.Directory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The dump and EROFS formats as the commands use them: the one place that adapts the CLI to
 * {@code dev.kcfs.image.dump} and {@code dev.kcfs.image.erofs}.
 */
final class Formats {
    private Formats() {}

    /** Parses a dump; {@code source} names the input in error messages. */
    static Directory parseDump(InputStream in, String source, boolean lenient) throws IOException {
        try {
            return DumpParser.parse(in, !lenient);
        } catch (DumpFormatException e) {
            throw new CommandException(
                    source
                            + ": "
                            + e.getMessage()
                            + (lenient
                                    ? ""
                                    : " (dumps are parsed strictly; --lenient accepts what upstream accepts by default)"),
                    e);
        }
    }

    static void printDump(Directory root, OutputStream out) throws IOException {
        DumpPrinter.print(root, out);
    }

    /** Writes the image of a tree, choosing the format version within [min, max] as upstream does. */
    static void writeImage(Directory root, int minVersion, int maxVersion, OutputStream out)
            throws IOException {
        ErofsWriter.write(root, new ErofsWriter.WriteOptions(minVersion, maxVersion), out);
    }

    /** Loads an image; with a non-empty filter only those top-level names. */
    static Directory readImage(Path imageFile, List<byte[]> filter) throws IOException {
        TreeSet<byte[]> names = new TreeSet<>(Arrays::compareUnsigned);
        names.addAll(filter);
        return ErofsReader.read(imageFile, names.isEmpty() ? null : names).root();
    }

    /** {@code s} with control characters and backslashes escaped (\n, \t, \\, \xNN), so it prints on one line. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
