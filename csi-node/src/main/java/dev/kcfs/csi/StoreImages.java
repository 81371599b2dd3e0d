package dev.kcfs.csi;

import dev.kcfs.store.Store;
import dev.kcfs.store.StoreException;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

/** The node store seen from the CSI plugin: image refs by name, and the numbers for {@code /metrics}. */
public final class StoreImages implements ImageSource, StoreStats {
    private final Store store;

    public StoreImages(Store store) {
        this.store = store;
    }

    public Store store() {
        return store;
    }

    @Override
    public Optional<ResolvedImage> resolve(String name) throws IOException {
        Optional<Digest> digest = store.ref(name);
        // a ref whose image is gone counts as missing: the build hook can make it again
        if (digest.isEmpty() || !store.hasImage(digest.get())) {
            return Optional.empty();
        }
        return Optional.of(new ResolvedImage(name, digest.get()));
    }

    @Override
    public Snapshot snapshot() {
        try {
            Store.Stats s = store.stats();
            return new Snapshot(s.objects(), s.objectDiskBytes(), s.logicalBytes());
        } catch (StoreException e) {
            throw new UncheckedIOException(e);
        }
    }
}
