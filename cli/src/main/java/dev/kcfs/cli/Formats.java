package dev.kcfs.cli;

import dev.kcfs.tree.Directory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The dump and EROFS formats as the commands use them: the one place that adapts the CLI to
 * {@code dev.kcfs.image.dump} and {@code dev.kcfs.image.erofs}.
 */
final class Formats {
    private Formats() {
    }

    /** Parses a dump; {@code source} names the input in error messages. */
    static Directory parseDump(InputStream in, String source, boolean lenient) throws IOException {
        throw new CommandException("reading dumps is not available in this build yet (dev.kcfs.image.dump)");
    }

    static void printDump(Directory root, OutputStream out) throws IOException {
        throw new CommandException("printing dumps is not available in this build yet (dev.kcfs.image.dump)");
    }

    /** The image bytes for a tree, choosing the format version within [min, max] as upstream does. */
    static byte[] writeImage(Directory root, int minVersion, int maxVersion) throws IOException {
        throw new CommandException("writing images is not available in this build yet (dev.kcfs.image.erofs)");
    }

    /** Loads an image; with a non-empty filter only those top-level names. */
    static Directory readImage(Path image, List<byte[]> filter) throws IOException {
        throw new CommandException("reading images is not available in this build yet (dev.kcfs.image.erofs)");
    }
}
