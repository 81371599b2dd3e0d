package dev.kcfs.agent;

import dev.kcfs.api.ImageState;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.util.Map;

/**
 * What a starting agent knows from the node store alone (a restarted pod, a rebooted node): every
 * ref is an image; one whose build record matches the ref and whose image file exists is Ready as
 * built, the others are rebuilt if still wanted. Refs of imports that did not finish are left to GC.
 */
final class Recovery {
    private Recovery() {}

    /**
     * Adds an entry to {@code table} for every image ref in {@code store}; returns how many. Holds
     * the table's monitor throughout (the one time it reads the store under it): the CSI plugin
     * serves already, and a use it counts meanwhile waits for the loaded entry.
     */
    static int load(Store store, BuildRecords records, ImageTable table) throws IOException {
        synchronized (table) {
            Map<String, BuildRecords.Record> saved = records.loadAll();
            int found = 0;
            for (Map.Entry<String, Digest> ref : store.refs().entrySet()) {
                String name = ref.getKey();
                if (name.startsWith(ImageBuilder.BUILDING_PREFIX)) {
                    continue; // an import that did not finish: GC drops its ref
                }
                ImageTable.Entry e = table.add(name);
                BuildRecords.Record r = saved.get(name);
                if (r != null && r.digest().equals(ref.getValue()) && store.hasImage(r.digest())) {
                    e.built = r;
                    e.state = ImageState.Ready;
                    e.lastUsed = r.lastUsed();
                } else {
                    e.message =
                            "found in the node store without a build record; rebuilt if still wanted";
                }
                found++;
            }
            return found;
        }
    }
}
