package dev.kcfs.cli;

import dev.kcfs.scan.DirectoryScanner;
import java.io.IOException;
import java.nio.file.Path;

/**
 * An object store being filled by {@code mkcomposefs --digest-store}: files are added while they
 * are hashed and become visible (durably) on {@link #commit()}; closing without commit discards
 * them. The one place adapting the CLI to {@code dev.kcfs.store.ObjectDirectory}.
 */
final class Store implements AutoCloseable {
    private Store() {
    }

    static Store open(Path dir) throws IOException {
        throw new CommandException("--digest-store is not available in this build yet (dev.kcfs.store)");
    }

    /** Thread-safe. */
    void add(DirectoryScanner.ExternalFile file) throws IOException {
    }

    void commit() throws IOException {
    }

    @Override
    public void close() throws IOException {
    }
}
