package dev.kcfs.mount;

import dev.kcfs.verity.KernelVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Mount + unmount latency over many rounds (goal: p99 under 20 ms). Not a test: run by hand as
 * root in a private mount namespace. Args: rounds [image basedir | --tree DIR] (default: a small
 * test image; --tree scans DIR and writes its composefs image with kcfs's own writer).
 */
public final class MountBenchmark {
    private MountBenchmark() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path work = Files.createTempDirectory("kcfs-mountbench");
        Path image;
        Path basedir;
        if (args.length > 2 && args[1].equals("--tree")) {
            dev.kcfs.scan.DirectoryScanner.Scan scan =
                    new dev.kcfs.scan.DirectoryScanner(
                                    dev.kcfs.scan.DirectoryScanner.Options.defaults())
                            .scan(Path.of(args[2]));
            image = work.resolve("tree.cfs");
            dev.kcfs.image.erofs.ErofsWriter.write(
                    scan.root(), dev.kcfs.image.erofs.ErofsWriter.WriteOptions.defaults(), image);
            basedir = Files.createDirectories(work.resolve("objects")); // mounting reads no object
        } else if (args.length > 2) {
            image = Path.of(args[1]);
            basedir = Path.of(args[2]);
        } else {
            TestImages.Built b = TestImages.build(work);
            image = b.image();
            basedir = b.objects();
        }
        Path target = Files.createDirectories(work.resolve("mnt"));
        ComposefsMounter m =
                new ComposefsMounter(new KernelVerity(), work.resolve("scratch"), false);
        MountOptions o = MountOptions.of(basedir);
        for (int i = 0; i < 20; i++) { // warm-up (JIT, JNA symbol lookup)
            m.mount(image, target, o);
            m.unmount(target, false);
        }
        long[] ns = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            long t0 = System.nanoTime();
            m.mount(image, target, o);
            m.unmount(target, false);
            ns[i] = System.nanoTime() - t0;
        }
        Arrays.sort(ns);
        System.out.printf(
                "mount+unmount of %s (%d bytes), %d rounds: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                image,
                Files.size(image),
                rounds,
                ns[rounds / 2] / 1e6,
                ns[(int) Math.ceil(rounds * 0.99) - 1] / 1e6,
                ns[rounds - 1] / 1e6);
    }
}
