package dev.kcfs.store;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Small record files beside a store (the node's publications, the agent's build records): each is
 * replaced whole and durably. The new content goes to a temporary file of this writer's own in the
 * same directory, is synced, renamed over the record and the directory synced, so a crash or a
 * concurrent writer leaves the old record or a new one, never a torn or empty file.
 */
public final class RecordFile {
    private RecordFile() {}

    /** Replaces {@code target} with {@code content}. */
    public static void replace(Path target, byte[] content) throws StoreException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = null;
        try {
            // hidden and unique: readers that list the directory skip it, two writers never share
            // it
            temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".new");
            try (OutputStream out = Files.newOutputStream(temp)) {
                out.write(content);
            }
            Durability.replaceDurably(temp, target);
            temp = null;
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // the original failure is what the caller needs to see
                }
            }
        }
    }

    /** Replaces {@code target} with {@code properties} in the {@link Properties} text format. */
    public static void replace(Path target, Properties properties, String comment)
            throws StoreException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            properties.store(bytes, comment);
        } catch (IOException e) {
            throw new IllegalStateException("writing properties to memory failed", e);
        }
        replace(target, bytes.toByteArray());
    }
}
