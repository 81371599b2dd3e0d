package dev.kcfs.scan;

import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.store.ErofsImageObjects;
import dev.kcfs.store.ObjectDirectory;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Builds a composefs image from a directory straight into a node store: bodies are copied into
 * {@code objects/} while they are hashed, made durable in one batch, then the image is added under
 * its digest and, if a name is given, a ref points at it. A lease keeps GC away meanwhile; on any
 * failure nothing new becomes visible (uncommitted objects and the temporary image are dropped).
 */
public final class DirectoryImport {
    private DirectoryImport() {}

    /**
     * What an import produced.
     *
     * @param entries names below the source directory (each hardlink counts; the image's own
     *                bookkeeping entries, such as the root's whiteout stubs, do not)
     */
    public record Result(
            Digest imageDigest, int version, long entries, int objectsAdded, int objectsPresent) {}

    private static long names(dev.kcfs.tree.Directory dir) {
        long n = 0;
        for (dev.kcfs.tree.Inode i : dir.children().values()) {
            n++;
            if (i instanceof dev.kcfs.tree.Directory d) {
                n += names(d);
            }
        }
        return n;
    }

    public static Result run(
            Store store,
            Path source,
            String refName,
            DirectoryScanner.Options scan,
            ErofsWriter.WriteOptions write)
            throws IOException {
        try (Store.Lease lease = store.lease("import of " + source);
                ObjectDirectory.Batch batch = store.objects().batch()) {
            DirectoryScanner.Scan result =
                    new DirectoryScanner(scan)
                            .scan(source, (f, body) -> batch.addFile(f.source(), f.digest(), body));
            ObjectDirectory.Committed committed = batch.commit();
            // images hold metadata only (tens of MiB for a whole OS), so build it in memory and let
            // the store write it through its own temporary-file protocol
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 20);
            ErofsWriter.WriteResult written = ErofsWriter.write(result.root(), write, bytes);
            Digest image =
                    store.addImage(
                            new ByteArrayInputStream(bytes.toByteArray()),
                            ErofsImageObjects.of(result.root()));
            if (refName != null) {
                store.setRef(refName, image);
            }
            return new Result(
                    image,
                    written.version(),
                    names(result.root()),
                    committed.added(),
                    committed.alreadyPresent());
        }
    }
}
