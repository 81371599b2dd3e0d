package dev.kcfs.store;

import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.TreeWalker;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/** The objects of a composefs image, read with the EROFS reader (or taken from a tree about to be written). */
public final class ErofsImageObjects implements ImageObjects {
    @Override
    public ObjectList read(Path image) throws IOException {
        return of(ErofsReader.read(image).root());
    }

    /**
     * The object list of a tree: every external file's digest (from its metacopy digest, else its
     * {@code ab/cdef…} payload), logical bytes counting each inode once (hardlinks share storage
     * everywhere). Files whose payload names no object cannot come from a store and are skipped.
     */
    public static ObjectList of(Directory root) {
        Set<Digest> digests = new HashSet<>();
        long[] logical = {0};
        TreeWalker.walk(
                root,
                e -> {
                    if (e.isFirstOccurrence()
                            && e.inode() instanceof RegularFile f
                            && f.isExternal()) {
                        Digest d = f.digest();
                        if (d == null && f.payload() != null) {
                            d =
                                    Digest.fromObjectPath(
                                            new String(f.payload(), StandardCharsets.ISO_8859_1));
                        }
                        if (d != null) {
                            digests.add(d);
                            logical[0] += f.size();
                        }
                    }
                });
        return ObjectList.of(digests, logical[0]);
    }
}
