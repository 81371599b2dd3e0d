package dev.kcfs.mount;

import dev.kcfs.store.Store;
import dev.kcfs.store.StoreException;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared mount of an image of a node store: composefs (EROFS from the image file + overlay
 * over the store's objects), with the image's digest pinned so only the image the record names
 * is ever mounted, and every object checked present first.
 */
public final class StoreImageMounter implements ImageMounter {
    private final Store store;
    private final ComposefsMounter mounter;

    public StoreImageMounter(Store store, ComposefsMounter mounter) {
        this.store = store;
        this.mounter = mounter;
    }

    @Override
    public Mounted mount(Digest image, Path mountpoint, VerityMode verity) throws IOException {
        requireObjects(image);
        return mounter.mount(
                store.imagePath(image),
                mountpoint,
                MountOptions.of(store.objects().root())
                        .withDigest(image)
                        .withVerity(verity)
                        .withNosuidNodev());
    }

    /**
     * A missing object would only show up as a read error deep inside a container; refuse the
     * mount instead (one stat per object, on the first mount of an image only).
     */
    private void requireObjects(Digest image) throws MountException, StoreException {
        var list = store.objectList(image);
        if (list.isEmpty()) {
            throw new MountException(
                    "image "
                            + image.hex()
                            + " has no object list and the image reader could not read it; run `kcfs store fsck`");
        }
        List<Digest> missing = new ArrayList<>();
        for (Digest o : list.get().digests()) {
            if (!store.objects().contains(o)) {
                missing.add(o);
            }
        }
        if (!missing.isEmpty()) {
            throw new MountException(
                    "image "
                            + image.hex()
                            + " refers to "
                            + missing.size()
                            + " object(s) missing from "
                            + store.objects().root()
                            + " (first: "
                            + missing.get(0).objectPath()
                            + "); nothing was mounted. "
                            + "Re-import the image, or run `kcfs store fsck` to see what is damaged");
        }
    }
}
