package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** File helpers the store's parts share: listing, sizes, deletes, object-name parsing. */
final class StoreFiles {
    private StoreFiles() {}

    static List<Path> list(Path dir) throws StoreException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException | UncheckedIOException e) {
            throw new StoreException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    static void deleteOrFail(Path p) throws StoreException {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new StoreException("cannot delete " + p + ": " + e.getMessage(), e);
        }
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // informational file; next GC retries
        }
    }

    static int parsePrefix(String s) {
        if (s.length() != 2) {
            return -1;
        }
        int hi = Character.digit(s.charAt(0), 16);
        int lo = Character.digit(s.charAt(1), 16);
        return hi < 0
                        || lo < 0
                        || Character.isUpperCase(s.charAt(0))
                        || Character.isUpperCase(s.charAt(1))
                ? -1
                : hi << 4 | lo;
    }

    static Digest parseHex(String s) {
        if (s.length() != 2 * Digest.LENGTH) {
            return null;
        }
        return Digest.fromObjectPath(s.substring(0, 2) + "/" + s.substring(2));
    }

    /**
     * The digest a cache entry ({@code index/…}) points at: a symlink whose target is a digest's
     * hex; null for anything else.
     */
    static Digest linkTarget(Path entry) {
        try {
            return Digest.parse(Files.readSymbolicLink(entry).toString());
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Removes the entries of cache directory {@code dir} whose name is not one {@code nameOk}
     * accepts or that do not point at a digest {@code keep} accepts. Returns how many went.
     */
    static int sweepLinks(
            Path dir,
            java.util.function.Predicate<String> nameOk,
            java.util.function.Predicate<Digest> keep)
            throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path e : entries) {
                Digest d = linkTarget(e);
                if (d == null || !nameOk.test(e.getFileName().toString()) || !keep.test(d)) {
                    Files.deleteIfExists(e);
                    removed++;
                }
            }
        }
        return removed;
    }

    /** An exclusive lock on {@code lockFile}, polled until {@code deadline} (System.nanoTime); null if not had. */
    static FileLock poll(Path lockFile, long deadline) throws StoreException {
        while (true) {
            FileLock l = FileLock.tryExclusive(lockFile);
            if (l != null || System.nanoTime() >= deadline) {
                return l;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }
}
