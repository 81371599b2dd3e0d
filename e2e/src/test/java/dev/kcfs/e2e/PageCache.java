package dev.kcfs.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Page-cache residency of files, measured with util-linux {@code fincore} (mmap + mincore), and
 * eviction of one file's pages with GNU {@code dd iflag=nocache} (posix_fadvise DONTNEED). Both are
 * per file: the run never drops the whole machine's caches, which other builds on the host rely on.
 * External tools rather than a JNA binding because they are the standard, reviewed way to ask the
 * kernel these two questions and are on every Debian system (util-linux and coreutils are essential).
 */
final class PageCache {
    static final long PAGE = 4096;

    private PageCache() {}

    /** Bytes of each file resident in page cache (whole pages; the last page of a file counts in full). */
    static Map<Path, Long> resident(Collection<Path> files)
            throws IOException, InterruptedException {
        Map<Path, Long> out = new LinkedHashMap<>();
        List<Path> all = new ArrayList<>(files);
        // fincore prints one line per file, in argument order; batches keep the command line short
        for (int from = 0; from < all.size(); from += 200) {
            List<Path> batch = all.subList(from, Math.min(all.size(), from + 200));
            List<String> command =
                    new ArrayList<>(
                            List.of(
                                    "fincore",
                                    "--bytes",
                                    "--noheadings",
                                    "--raw",
                                    "--output",
                                    "RES"));
            batch.forEach(p -> command.add(p.toString()));
            String text = run(command);
            String[] lines = text.strip().split("\n");
            if (lines.length != batch.size()) {
                throw new IllegalStateException(
                        "fincore printed "
                                + lines.length
                                + " lines for "
                                + batch.size()
                                + " files:\n"
                                + text);
            }
            for (int i = 0; i < batch.size(); i++) {
                out.put(batch.get(i), Long.parseLong(lines[i].strip()));
            }
        }
        return out;
    }

    static long residentTotal(Collection<Path> files) throws IOException, InterruptedException {
        return resident(files).values().stream().mapToLong(Long::longValue).sum();
    }

    /** Drops the clean cached pages of these files (posix_fadvise POSIX_FADV_DONTNEED over each whole file). */
    static void evict(Collection<Path> files) throws IOException, InterruptedException {
        List<String> command =
                new ArrayList<>(
                        List.of(
                                "sh",
                                "-c",
                                "for f; do sync \"$f\" && dd if=\"$f\" iflag=nocache count=0 status=none || exit 1; done",
                                "sh"));
        files.forEach(p -> command.add(p.toString()));
        run(command);
    }

    /** The file size rounded up to whole pages: the most page cache one copy of it can take. */
    static long pages(long size) {
        return (size + PAGE - 1) / PAGE * PAGE;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(
                    command.get(0) + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Reads the file to the end, so its pages are cached; returns the bytes read. */
    static long readThrough(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }
}
