package dev.kcfs.store;

import static dev.kcfs.store.StoreFiles.*;

import dev.kcfs.store.Store.Stats;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/** The store's figures ({@link Store#stats}). */
final class StoreStatistics {
    private final Store store;

    StoreStatistics(Store store) {
        this.store = store;
    }

    Stats run() throws StoreException {
        long count = 0;
        long bytes = 0;
        long disk = 0;
        long block;
        try {
            block = Math.max(1, Files.getFileStore(store.objects.root()).getBlockSize());
        } catch (IOException | UnsupportedOperationException e) {
            block = 4096;
        }
        for (Path prefix : list(store.objects.root())) {
            for (Path f : list(prefix)) {
                long s = sizeOf(f);
                count++;
                bytes += s;
                disk += (s + block - 1) / block * block;
            }
        }
        long logical = 0;
        long imageBytes = 0;
        SortedMap<Digest, Path> all = store.images();
        for (Map.Entry<Digest, Path> e : all.entrySet()) {
            imageBytes += sizeOf(e.getValue());
            try {
                Optional<ObjectList> l = store.objectList(e.getKey());
                if (l.isPresent()) {
                    logical += l.get().logicalBytes();
                }
            } catch (StoreException ex) {
                // an image whose objects cannot be listed adds nothing to the logical size; fsck
                // reports it
            }
        }
        double ratio = bytes == 0 ? 1.0 : (double) logical / bytes;
        return new Stats(
                count,
                bytes,
                disk,
                all.size(),
                imageBytes,
                logical,
                ratio,
                store.refs().size(),
                store.mountRecords().size(),
                list(store.leases).size());
    }
}
