package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.KernelVerity;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Adds many small files (a --digest-store-like load) to an empty object directory three ways:
 * upstream's per-object fsync + rename, one batch with fsync of each file, one batch with syncfs.
 * Not a test: run by hand (see the store report / bench/README.md). Args: work dir, file count, threads[, a real tree to copy instead of random files].
 */
public final class ObjectDirectoryBenchmark {
    private ObjectDirectoryBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "target/odbench");
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 20000;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        Scratch.deleteTree(work);
        Path src = Files.createDirectories(work.resolve("src"));
        Random r = new Random(1);
        List<Path> files = new ArrayList<>();
        List<Digest> digests = new ArrayList<>();
        long bytes = 0;
        if (args.length > 3) {
            // a real tree: every regular file over 64 bytes, as mkcomposefs --digest-store copies
            // them
            try (var walk = Files.walk(Path.of(args[3]))) {
                walk.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        .forEach(
                                p -> {
                                    try {
                                        if (Files.size(p) > 64 && Files.isReadable(p)) {
                                            files.add(p);
                                        }
                                    } catch (java.io.IOException e) {
                                        // vanished or unreadable: skip
                                    }
                                });
            }
            List<Digest> computed =
                    java.util.Collections.synchronizedList(
                            new ArrayList<>(
                                    java.util.Collections.nCopies(files.size(), (Digest) null)));
            parallel(threads, files.size(), i -> computed.set(i, FsVerity.digest(files.get(i))));
            digests.addAll(computed);
            for (Path f : files) {
                bytes += Files.size(f);
            }
            count = files.size();
        }
        for (int i = files.size(); i < count; i++) {
            // sizes like /usr: most files a few KiB, some larger
            int size = 65 + (r.nextInt(10) == 0 ? r.nextInt(200000) : r.nextInt(12000));
            byte[] b = new byte[size];
            r.nextBytes(b);
            Path f = src.resolve("f" + i);
            Files.write(f, b);
            files.add(f);
            digests.add(FsVerity.digest(b));
            bytes += size;
        }
        Durability.syncFilesystem(work); // the sources' own writeback is not part of any run
        System.out.printf("%d files, %.1f MiB, %d threads%n", count, bytes / 1048576.0, threads);
        for (String mode :
                System.getProperty(
                                "modes",
                                "batch-syncfs,upstream-fsync-each,batch-fsync-each,batch-fsync-16threads,batch-syncfs")
                        .split(",")) {
            Scratch.deleteTree(work.resolve(mode));
            Durability.syncFilesystem(work);
            Path objects = work.resolve(mode + "/objects");
            Path tmp = work.resolve(mode + "/tmp");
            long t0 = System.nanoTime();
            if (mode.equals("upstream-fsync-each")) {
                upstreamLike(files, digests, objects, tmp, threads);
            } else {
                int limit = mode.startsWith("batch-fsync") ? Integer.MAX_VALUE : 0;
                ObjectDirectory od =
                        ObjectDirectory.open(
                                objects,
                                tmp,
                                new KernelVerity(),
                                limit,
                                mode.endsWith("16threads") ? 16 : 1);
                try (ObjectDirectory.Batch b = od.batch()) {
                    parallel(threads, count, i -> b.addFile(files.get(i), digests.get(i)));
                    long t1 = System.nanoTime();
                    b.commit();
                    System.out.printf(
                            "  (adds %.2f s, commit %.2f s)%n",
                            (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf(
                    "%-20s %7.2f s  %8.0f files/s  %6.1f MiB/s%n",
                    mode, s, count / s, bytes / 1048576.0 / s);
        }
    }

    /** Per object: copy to a temp, fsync it, rename, as mkcomposefs --digest-store does (docs/format.md, 'Building from a directory'). */
    private static void upstreamLike(
            List<Path> files, List<Digest> digests, Path objects, Path tmp, int threads)
            throws Exception {
        Files.createDirectories(tmp);
        parallel(
                threads,
                files.size(),
                i -> {
                    Path target = objects.resolve(digests.get(i).objectPath());
                    if (Files.exists(target)) {
                        return;
                    }
                    Files.createDirectories(target.getParent());
                    Path t = tmp.resolve("t" + i);
                    Files.copy(files.get(i), t);
                    try (FileChannel ch = FileChannel.open(t, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                    Files.move(t, target, StandardCopyOption.ATOMIC_MOVE);
                });
    }

    interface Step {
        void run(int i) throws Exception;
    }

    private static void parallel(int threads, int count, Step step) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int start = t;
                fs.add(
                        pool.submit(
                                () -> {
                                    for (int i = start; i < count; i += threads) {
                                        step.run(i);
                                    }
                                    return null;
                                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }
}
