package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Child process of the crash test: imports images into a store the way an importer does (lease,
 * object batch, image, ref) and prints "imported NAME" after each. Args: store root, source dir,
 * seed, and "loop" (import app-0, app-1, … until killed) or an image number to import once.
 */
public final class CrashingImporter {
    private CrashingImporter() {}

    public static void main(String[] args) throws Exception {
        Store store = Store.open(Path.of(args[0]));
        Path src = Files.createDirectories(Path.of(args[1]));
        long seed = Long.parseLong(args[2]);
        if (args[3].equals("loop")) {
            for (int n = 0; ; n++) {
                importImage(store, src, seed, n);
            }
        }
        importImage(store, src, seed, Integer.parseInt(args[3]));
    }

    /** Image n: 20-80 objects from a pool of 400 bodies, so images and runs share objects. */
    static void importImage(Store store, Path src, long seed, int n) throws Exception {
        Random r = new Random(seed * 1000 + n);
        String name = "app-" + n;
        try (Store.Lease lease = store.lease("import " + name)) {
            List<Digest> digests = new ArrayList<>();
            long logical = 0;
            try (ObjectDirectory.Batch b = store.objects().batch()) {
                int count = 20 + r.nextInt(60);
                for (int i = 0; i < count; i++) {
                    int id = r.nextInt(400);
                    Random body = new Random(id);
                    byte[] content =
                            new byte
                                    [body.nextInt(4) == 0
                                            ? body.nextInt(300000)
                                            : 65 + body.nextInt(9000)];
                    body.nextBytes(content);
                    logical += content.length;
                    if (r.nextBoolean()) {
                        Path f = src.resolve(ProcessHandle.current().pid() + "-" + n + "-" + i);
                        Files.write(f, content);
                        Digest d = FsVerity.digest(f);
                        b.addFile(f, d);
                        digests.add(d);
                        Files.delete(f);
                    } else {
                        digests.add(b.addStream(new ByteArrayInputStream(content)));
                    }
                }
                b.commit();
            }
            byte[] image = new byte[16384];
            r.nextBytes(image);
            Digest img =
                    store.addImage(
                            new ByteArrayInputStream(image), ObjectList.of(digests, logical));
            store.setRef(name, img);
        }
        System.out.println("imported " + name);
        System.out.flush();
    }
}
