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
 * Child process of the crash tests: adds batches of objects forever until killed, printing the
 * digests of each batch after its commit returned. Args: objects dir, tmp dir, source dir, seed.
 */
public final class CrashingWriter {
    private CrashingWriter() {
    }

    public static void main(String[] args) throws Exception {
        ObjectDirectory od = ObjectDirectory.open(Path.of(args[0]), Path.of(args[1]));
        Path src = Files.createDirectories(Path.of(args[2]));
        Random r = new Random(Long.parseLong(args[3]));
        for (long n = 0; ; n++) {
            List<Digest> added = new ArrayList<>();
            try (ObjectDirectory.Batch b = od.batch()) {
                int count = 1 + r.nextInt(60);
                for (int i = 0; i < count; i++) {
                    // a small pool of bodies so batches and rounds overlap
                    int id = r.nextInt(400);
                    Random body = new Random(id);
                    byte[] content = new byte[body.nextInt(3) == 0 ? body.nextInt(300000) : body.nextInt(9000)];
                    body.nextBytes(content);
                    if (r.nextBoolean()) {
                        Path f = src.resolve(n + "-" + i);
                        Files.write(f, content);
                        Digest d = FsVerity.digest(f);
                        b.addFile(f, d);
                        added.add(d);
                    } else {
                        added.add(b.addStream(new ByteArrayInputStream(content)));
                    }
                }
                b.commit();
            }
            StringBuilder line = new StringBuilder("committed");
            added.forEach(d -> line.append(' ').append(d.hex()));
            System.out.println(line);
            System.out.flush();
        }
    }
}
