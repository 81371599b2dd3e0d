package dev.kcfs.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --store DIR} option shared by the commands that work on a node store. */
final class StoreOption {
    static final String DEFAULT = "/var/lib/kcfs";

    @Option(
            names = "--store",
            paramLabel = "DIR",
            defaultValue = "${env:KCFS_STORE:-" + DEFAULT + "}",
            description = "Node store (default: $KCFS_STORE or " + DEFAULT + ").")
    Path dir;

    /** The store at {@code dir}, which must exist: read-only and tidying commands never create one. */
    static dev.kcfs.store.Store existing(Path dir) throws dev.kcfs.store.StoreException {
        return dev.kcfs.store.Store.openExisting(dir);
    }

    /**
     * The store at {@code dir}, created if there is none, saying so on {@code err}: only commands that
     * add content create a store, and a mistyped path should not go unnoticed.
     */
    static dev.kcfs.store.Store forAdding(Path dir, java.io.PrintStream err, String command)
            throws dev.kcfs.store.StoreException {
        boolean existed = dev.kcfs.store.Store.exists(dir);
        dev.kcfs.store.Store store = dev.kcfs.store.Store.open(dir);
        if (!existed) {
            err.println("kcfs " + command + ": created a new kcfs store at " + store.root());
        }
        return store;
    }
}
