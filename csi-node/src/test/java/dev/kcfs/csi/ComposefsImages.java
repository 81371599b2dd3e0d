package dev.kcfs.csi;

import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.store.ObjectDirectory;
import dev.kcfs.store.ObjectList;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds real composefs images into a real node store, the way the node agent will. */
final class ComposefsImages {
    private ComposefsImages() {}

    /** Scans {@code tree}, adds its file bodies to the store, writes the EROFS image, points {@code name} at it. */
    static Digest build(Store store, Path tree, String name) throws Exception {
        DirectoryScanner.Scan scan =
                new DirectoryScanner(DirectoryScanner.Options.defaults().withThreads(1)).scan(tree);
        List<Digest> digests = new ArrayList<>();
        long logical = 0;
        try (Store.Lease lease = store.lease("test import of " + name);
                ObjectDirectory.Batch batch = store.objects().batch()) {
            for (DirectoryScanner.ExternalFile f : scan.externalFiles()) {
                batch.addFile(f.source(), f.digest());
                digests.add(f.digest());
                logical += f.size();
            }
            batch.commit();
            Path image = Files.createTempFile(store.root().resolve("tmp"), name, ".cfs");
            ErofsWriter.write(scan.root(), ErofsWriter.WriteOptions.defaults(), image);
            Digest digest = store.addImage(image, ObjectList.of(digests, logical));
            Files.delete(image);
            store.setRef(name, digest);
            return digest;
        }
    }
}
