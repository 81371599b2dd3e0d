package dev.kcfs.mount;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kcfs.store.ObjectDirectory;
import dev.kcfs.store.ObjectList;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

/**
 * composefs-shaped images without the kcfs writer: a tree whose external files are empty-bodied
 * with {@code trusted.overlay.metacopy} and {@code trusted.overlay.redirect} xattrs, packed by
 * {@code mkfs.erofs} (it leaves the first 1024 bytes zero), then given the 32-byte composefs header.
 */
final class TestImages {
    private TestImages() {}

    record Built(Path image, Path objects, Path tree, byte[] big, Digest bigDigest) {
        /** Imports the image and its one external object into {@code store} (under a lease); returns the image digest. */
        Digest addTo(Store store) throws Exception {
            try (Store.Lease lease = store.lease("test import")) {
                try (ObjectDirectory.Batch b = store.objects().batch()) {
                    b.addFile(objects.resolve(bigDigest.objectPath()), bigDigest);
                    b.commit();
                }
                return store.addImage(image, ObjectList.of(List.of(bigDigest), big.length));
            }
        }
    }

    static Built build(Path dir) throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Path objects = Files.createDirectories(dir.resolve("objects"));
        Files.createDirectories(tree.resolve("dir/sub"));
        Files.writeString(tree.resolve("small.txt"), "hello\n");
        Files.createSymbolicLink(tree.resolve("link"), Path.of("small.txt"));
        byte[] big = new byte[100000];
        new Random(7).nextBytes(big);
        Digest d = FsVerity.digest(big);
        Path obj = objects.resolve(d.objectPath());
        Files.createDirectories(obj.getParent());
        Files.write(obj, big);
        Path stub = tree.resolve("dir/big.bin");
        try (FileChannel ch =
                FileChannel.open(stub, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.position(big.length - 1);
            ch.write(
                    ByteBuffer.wrap(
                            new byte[1])); // size only matters; the body comes from the object
        }
        run("setfattr", "-n", "trusted.overlay.metacopy", "-v", "0x", stub.toString());
        run(
                "setfattr",
                "-n",
                "trusted.overlay.redirect",
                "-v",
                "/" + d.objectPath(),
                stub.toString());
        run("setfattr", "-n", "user.foo", "-v", "bar", tree.resolve("small.txt").toString());
        Path image = dir.resolve("image.cfs");
        mkfs(tree, image);
        return new Built(image, objects, tree, big, d);
    }

    static void mkfs(Path tree, Path image) throws Exception {
        run("mkfs.erofs", "-x1", image.toString(), tree.toString());
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(ComposefsMounter.COMPOSEFS_MAGIC).putInt(1).putInt(0).putInt(1).flip();
            ch.write(h, 0);
        }
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "skipped: " + cmd[0] + " is not installed (erofs-utils, attr)");
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }
}
