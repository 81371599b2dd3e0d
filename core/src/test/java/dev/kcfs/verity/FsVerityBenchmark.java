package dev.kcfs.verity;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

/**
 * fs-verity throughput of one thread over a file in the page cache (issue 2 goal: at least
 * 1.2 GB/s per thread on a 1 GiB file), the way the scanner hashes: one hasher and one read
 * buffer ({@link FsVerity#readBuffer()}) reused. Not a test: {@code bench/java.sh dev.kcfs.verity.FsVerityBenchmark [FILE] [ROUNDS]}
 * (FILE is created with 1 GiB of random bytes if missing). Prints each round and the median.
 */
public final class FsVerityBenchmark {
    private FsVerityBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args.length > 0 ? args[0] : "/var/tmp/kcfs-verity-1g.bin");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        if (!Files.exists(file)) {
            byte[] chunk = new byte[1 << 20];
            Random r = new Random(1);
            try (FileChannel ch =
                    FileChannel.open(
                            file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (int i = 0; i < 1024; i++) {
                    r.nextBytes(chunk);
                    ch.write(ByteBuffer.wrap(chunk));
                }
            }
        }
        long size = Files.size(file);
        FsVerityHasher hasher = new FsVerityHasher();
        ByteBuffer buffer = FsVerity.readBuffer();
        System.out.println("SHA-256: " + FsVerityHasher.implementation());
        double[] gbps = new double[rounds];
        Digest first = null;
        for (int i = -2; i < rounds; i++) { // two warm-up rounds (JIT, page cache)
            long t0 = System.nanoTime();
            Digest d;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                d = FsVerity.digest(ch, hasher, buffer);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (first == null) {
                first = d;
            } else if (!first.equals(d)) {
                throw new IllegalStateException(
                        "digest changed between rounds: " + first + " vs " + d);
            }
            if (i >= 0) {
                gbps[i] = size / s / 1e9;
                System.out.printf("round %d: %.3f s, %.2f GB/s%n", i + 1, s, gbps[i]);
            }
        }
        Arrays.sort(gbps);
        System.out.printf(
                "%s (%d bytes): median %.2f GB/s per thread, digest %s%n",
                file, size, gbps[rounds / 2], first);
    }
}
