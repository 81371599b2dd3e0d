package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Which composefs image an OCI manifest was imported as: {@code index/manifests/<hex>.v<N>} is a
 * symlink whose target is the image's hex digest, for manifest {@code sha256:<hex>} written in
 * composefs format version N. A manifest names its config and layers by digest, and an import is
 * a function of those bytes and the format version, so pulling a manifest the store already
 * imported needs nothing but the manifest: the image and its objects are there.
 *
 * <p>Like the sha256 index this is a cache, never the truth: an entry is written after its image
 * is in place, a lookup answers only while that image and every object it lists are still in the
 * store (otherwise the pull imports again), GC and fsck drop entries whose image is gone, and a
 * lost entry only costs a pull. {@code symlink(2)} creates a complete entry or none.
 */
public final class ManifestIndex {
    private static final Pattern MANIFEST = Pattern.compile("sha256:([0-9a-f]{64})");
    private static final Pattern ENTRY = Pattern.compile("[0-9a-f]{64}\\.v[0-9]+");

    private final Path root;

    ManifestIndex(Path root) {
        this.root = root;
    }

    /**
     * The image made from {@code manifestDigest} in {@code formatVersion}, when it and all its
     * objects are still stored.
     */
    public Optional<Digest> lookup(String manifestDigest, int formatVersion, Store store)
            throws StoreException {
        Path entry = entry(manifestDigest, formatVersion);
        if (entry == null) {
            return Optional.empty();
        }
        Digest image = StoreFiles.linkTarget(entry);
        if (image == null || !store.hasImage(image)) {
            return Optional.empty();
        }
        Optional<ObjectList> objects = store.objectList(image);
        if (objects.isEmpty()
                || !objects.get().digests().stream().allMatch(store.objects()::contains)) {
            return Optional.empty();
        }
        return Optional.of(image);
    }

    /** Records that {@code manifestDigest} was imported as {@code image}. Failing to record only costs a later pull. */
    public void put(String manifestDigest, int formatVersion, Digest image) {
        Path entry = entry(manifestDigest, formatVersion);
        if (entry == null) {
            return;
        }
        try {
            Files.createDirectories(root);
            try {
                Files.createSymbolicLink(entry, Path.of(image.hex()));
            } catch (FileAlreadyExistsException e) {
                // the same manifest imported again by a newer kcfs whose import differs: newest
                // wins
                Path temp = entry.resolveSibling(entry.getFileName() + ".new");
                Files.deleteIfExists(temp);
                Files.createSymbolicLink(temp, Path.of(image.hex()));
                Files.move(temp, entry, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // a cache entry: the image is stored all the same
        }
    }

    /** Removes entries that are not symlinks to an image for which {@code keep} holds. Returns how many. */
    int sweep(Predicate<Digest> keep) throws StoreException {
        try {
            return StoreFiles.sweepLinks(root, name -> ENTRY.matcher(name).matches(), keep);
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            throw new StoreException(
                    "cannot clean the manifest index " + root + ": " + e.getMessage(), e);
        }
    }

    private Path entry(String manifestDigest, int formatVersion) {
        var m = manifestDigest == null ? null : MANIFEST.matcher(manifestDigest);
        if (m == null || !m.matches() || formatVersion < 0) {
            return null;
        }
        return root.resolve(m.group(1) + ".v" + formatVersion);
    }
}
