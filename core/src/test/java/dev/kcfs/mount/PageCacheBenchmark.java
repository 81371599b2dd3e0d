package dev.kcfs.mount;

import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.linux.LibC;
import dev.kcfs.scan.DirectoryImport;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.store.Store;
import dev.kcfs.verity.KernelVerity;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Page-cache sharing: imports one tree twice as two different images (the second with
 * --use-epoch, so the images differ but share every object), mounts both from the store, reads
 * every file through the first mount, then through the second, and reports the page cache the
 * objects occupy after each (measured with fincore). Goal: the second read adds nothing.
 * Not a test: run by hand as root in a private mount namespace. Args: source tree, work dir.
 */
public final class PageCacheBenchmark {
    private PageCacheBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path source = Path.of(args[0]);
        Path work =
                Files.createDirectories(Path.of(args.length > 1 ? args[1] : "target/pagecache"));
        Store store = Store.open(work.resolve("store"));
        DirectoryScanner.Options o = DirectoryScanner.Options.defaults();
        DirectoryImport.run(store, source, "a", o, ErofsWriter.WriteOptions.defaults());
        DirectoryImport.run(
                store, source, "b", o.withUseEpoch(true), ErofsWriter.WriteOptions.defaults());
        Store.Stats stats = store.stats();
        List<Path> objects;
        try (Stream<Path> s = Files.walk(store.objects().root())) {
            objects = s.filter(Files::isRegularFile).toList();
        }
        for (Path obj : objects) {
            int fd = LibC.INSTANCE.open(obj.toString(), LibC.O_RDONLY, 0);
            LibC.INSTANCE.posix_fadvise(fd, 0, 0, LibC.POSIX_FADV_DONTNEED);
            LibC.INSTANCE.close(fd);
        }
        StoreMounter mounter =
                new StoreMounter(
                        store,
                        new ComposefsMounter(new KernelVerity(), work.resolve("scratch"), false));
        Path ma = Files.createDirectories(work.resolve("mnt-a"));
        Path mb = Files.createDirectories(work.resolve("mnt-b"));
        mounter.mount("a", ma, VerityMode.OFF);
        mounter.mount("b", mb, VerityMode.OFF);
        try {
            long before = resident(objects);
            long readA = readAll(ma);
            long afterA = resident(objects);
            long readB = readAll(mb);
            long afterB = resident(objects);
            System.out.printf(
                    "store: %d objects, %.1f MiB on disk; 2 images, %.1f MiB logical; dedup %.2fx%n",
                    stats.objects(),
                    stats.objectBytes() / 1048576.0,
                    stats.logicalBytes() / 1048576.0,
                    stats.dedupRatio());
            System.out.printf(
                    "object page cache: before %.1f MiB; after reading %.1f MiB through image a: %.1f MiB;"
                            + " after reading %.1f MiB through image b: %.1f MiB%n",
                    before / 1048576.0,
                    readA / 1048576.0,
                    afterA / 1048576.0,
                    readB / 1048576.0,
                    afterB / 1048576.0);
            System.out.printf(
                    "page cache / unique object pages after both: %.3fx (1.0 = shared, 2.0 = one copy per image);"
                            + " growth from the second image: %.1f MiB%n",
                    (double) afterB / stats.objectDiskBytes(), (afterB - afterA) / 1048576.0);
        } finally {
            mounter.unmount(ma);
            mounter.unmount(mb);
            mounter.releaseUnused();
        }
    }

    private static long readAll(Path root) throws Exception {
        long total = 0;
        byte[] buf = new byte[1 << 16];
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
        }
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    total += n;
                }
            } catch (java.io.IOException e) {
                // unreadable special cases (none expected); skip
            }
        }
        return total;
    }

    /** Bytes of these files resident in the page cache, by util-linux fincore. */
    private static long resident(List<Path> files) throws Exception {
        long total = 0;
        for (int i = 0; i < files.size(); i += 500) {
            List<String> cmd =
                    new ArrayList<>(
                            List.of(
                                    "fincore",
                                    "--bytes",
                                    "--raw",
                                    "--noheadings",
                                    "--output",
                                    "RES"));
            files.subList(i, Math.min(files.size(), i + 500)).forEach(p -> cmd.add(p.toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            for (String line : new String(p.getInputStream().readAllBytes()).split("\n")) {
                if (!line.isBlank()) {
                    total += Long.parseLong(line.trim());
                }
            }
            p.waitFor();
        }
        return total;
    }
}
