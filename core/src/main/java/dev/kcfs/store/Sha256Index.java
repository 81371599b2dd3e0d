package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Which object holds the content with a given sha256: {@code index/sha256/ab/cdef…} is a symlink
 * whose target is the object's fs-verity hex digest. Image formats name file contents by sha256
 * (zstd:chunked tables of contents), the store names them by fs-verity; this is the bridge that
 * lets a pull skip a file the node already has.
 *
 * <p>The index is a cache, never the truth: an entry is written only after its object is durable
 * and in place, a lookup checks that the object is still there, and a lost entry (a crash before
 * the directory entry reached the disk) only costs a download. So entries are neither fsynced nor
 * written through temporaries: {@code symlink(2)} creates a complete entry or none. GC removes
 * entries whose object it removed; fsck rebuilds the whole index from the objects' contents.
 */
public final class Sha256Index {
    private static final HexFormat HEX = HexFormat.of();
    private final Path root;

    Sha256Index(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** The object recorded for this sha256 (32 bytes), if any and if that object still exists. */
    public Optional<Digest> lookup(byte[] sha256, ObjectDirectory objects) {
        Digest d = StoreFiles.linkTarget(entry(HEX.formatHex(sha256)));
        if (d == null || !objects.contains(d)) {
            return Optional.empty();
        }
        return Optional.of(d);
    }

    /** Records (or corrects) the object for this sha256. Failing to record only costs a later download. */
    void put(byte[] sha256, Digest object) {
        String hex = HEX.formatHex(sha256);
        Path entry = entry(hex);
        try {
            Files.createDirectories(entry.getParent());
            try {
                Files.createSymbolicLink(entry, Path.of(object.hex()));
            } catch (FileAlreadyExistsException e) {
                String old = Files.readSymbolicLink(entry).toString();
                if (!old.equals(object.hex())) {
                    // two objects with one sha256 cannot both be right; the newest was just hashed
                    Path temp = entry.resolveSibling(hex.substring(2) + ".new");
                    Files.deleteIfExists(temp);
                    Files.createSymbolicLink(temp, Path.of(object.hex()));
                    Files.move(temp, entry, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            // a cache entry: the object is stored all the same
        }
    }

    /**
     * Removes entries that are not symlinks to an object for which {@code keep} holds (GC: objects
     * still there; fsck: objects checked). Returns how many were removed.
     */
    int sweep(Predicate<Digest> keep) throws StoreException {
        int removed = 0;
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (DirectoryStream<Path> prefixes = Files.newDirectoryStream(root)) {
            for (Path prefix : prefixes) {
                if (!Files.isDirectory(prefix, LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(prefix);
                    removed++;
                    continue;
                }
                removed += StoreFiles.sweepLinks(prefix, name -> name.length() == 62, keep);
            }
        } catch (NoSuchFileException e) {
            return removed;
        } catch (IOException e) {
            throw new StoreException(
                    "cannot clean the sha256 index " + root + ": " + e.getMessage(), e);
        }
        return removed;
    }

    private Path entry(String hex) {
        return root.resolve(hex.substring(0, 2)).resolve(hex.substring(2));
    }
}
