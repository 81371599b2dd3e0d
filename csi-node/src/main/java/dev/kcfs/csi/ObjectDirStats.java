package dev.kcfs.csi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.stream.Stream;

/**
 * Store statistics by walking {@code objects/} (scrapes share one walk, see {@link CsiMetrics}).
 * Logical bytes need the images' file lists and come from the store once it reports them; until
 * then they equal the stored bytes.
 */
public final class ObjectDirStats implements StoreStats {
    private final Path objects;

    public ObjectDirStats(Path storeRoot) {
        this.objects = storeRoot.resolve("objects");
    }

    @Override
    public Snapshot snapshot() {
        if (!Files.isDirectory(objects)) {
            return new Snapshot(0, 0, 0);
        }
        long[] countAndBytes = new long[2];
        try (Stream<Path> walk = Files.walk(objects)) {
            walk.forEach(p -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                    if (a.isRegularFile()) {
                        countAndBytes[0]++;
                        countAndBytes[1] += a.size();
                    }
                } catch (IOException e) {
                    // removed by GC while walking: not counted
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Snapshot(countAndBytes[0], countAndBytes[1], countAndBytes[1]);
    }
}
