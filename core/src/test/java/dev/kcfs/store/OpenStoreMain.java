package dev.kcfs.store;

import java.nio.file.Path;

/** Opens (creating) the store named by its argument: one process of {@link StoreConcurrencyTest}'s race. */
public final class OpenStoreMain {
    private OpenStoreMain() {}

    public static void main(String[] args) throws Exception {
        Store.open(Path.of(args[0]));
    }
}
