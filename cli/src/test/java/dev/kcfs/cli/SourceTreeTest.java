package dev.kcfs.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A test of kcfs commands run in-process over a small source tree ({@code src}: an inline file,
 * two external files in a subdirectory and a symlink) made in a fresh {@code tmp} before each test.
 */
abstract class SourceTreeTest {
    @TempDir Path tmp;
    Path src;

    @BeforeEach
    final void tree() throws IOException {
        src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("small"), "hello\n");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("d/big"), random(100_000, 1));
        Files.write(src.resolve("d/other"), random(5000, 2));
        Files.createSymbolicLink(src.resolve("link"), Path.of("small"));
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The names in {@code dir}, sorted. */
    static List<String> filesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
