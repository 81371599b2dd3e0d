package dev.kcfs.cli;

import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.store.ObjectDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An object store being filled by {@code mkcomposefs --digest-store}: files are added while they
 * are hashed and become visible (durably) on {@link #commit()}; closing without commit discards
 * them. The one place adapting the CLI to {@code dev.kcfs.store.ObjectDirectory}.
 */
final class DigestStoreBatch implements AutoCloseable {
    /**
     * Temporaries live in the store itself (like upstream's {@code DIR/.tmpXXXXXX}): same
     * filesystem, so objects move into place by rename; the dot keeps it out of {@code ab/} names.
     */
    static final String TMP_DIR = ".kcfs-tmp";

    private final ObjectDirectory objects;
    private final ObjectDirectory.Batch batch;

    private DigestStoreBatch(ObjectDirectory objects, ObjectDirectory.Batch batch) {
        this.objects = objects;
        this.batch = batch;
    }

    static DigestStoreBatch open(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CommandException("--digest-store " + dir + ": not a directory");
        }
        ObjectDirectory objects = ObjectDirectory.open(dir, dir.resolve(TMP_DIR));
        return new DigestStoreBatch(objects, objects.batch());
    }

    /**
     * Thread-safe. {@code body}: the file's content when the scanner holds it (see {@link
     * DirectoryScanner.ExternalFileSink}), or null.
     */
    void add(DirectoryScanner.ExternalFile file, ByteBuffer body) throws IOException {
        batch.addFile(file.source(), file.digest(), body);
    }

    void commit() throws IOException {
        batch.commit();
    }

    @Override
    public void close() throws IOException {
        batch.close();
        // upstream's tools share this directory: leave no .kcfs-tmp (or its lock file) behind
        objects.removeTemporaryDirectory();
    }
}
