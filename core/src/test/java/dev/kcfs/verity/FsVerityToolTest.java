package dev.kcfs.verity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Our fs-verity digests against Debian's {@code fsverity digest --compact} on random files. */
class FsVerityToolTest {
    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(
            longs = {
                0,
                1,
                63,
                64,
                65,
                4095,
                4096,
                4097,
                8191,
                8192,
                128 * 4096,
                128 * 4096 + 1,
                1 << 20,
                (1 << 20) + 1,
                128 * 128 * 4096 + 4097,
                3 * 1000 * 1000 + 7
            })
    void digestEqualsFsverityTool(long size) throws Exception {
        Path file = dir.resolve("f" + size);
        byte[] data = new byte[(int) size];
        new Random(size * 31 + 7).nextBytes(data);
        Files.write(file, data);

        String expected = fsverityDigest(file);

        assertThat(FsVerity.digest(file).hex()).isEqualTo(expected);
        assertThat(FsVerity.digest(data).hex()).isEqualTo(expected);
        try (InputStream in = Files.newInputStream(file)) {
            assertThat(FsVerity.digest(in).hex()).isEqualTo(expected);
        }
        // odd-sized updates cross block and tree-level boundaries differently
        assertThat(FsVerityVectorsTest.digestInOddSteps(data, new FsVerityHasher(), false).hex())
                .isEqualTo(expected);
    }

    static String fsverityDigest(Path file) throws IOException, InterruptedException {
        Process p;
        try {
            p =
                    new ProcessBuilder("fsverity", "digest", "--compact", file.toString())
                            .redirectErrorStream(true)
                            .start();
        } catch (IOException e) {
            assumeTrue(
                    false, "skipped: the fsverity tool (Debian package fsverity) is not installed");
            throw e;
        }
        String out =
                new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertThat(p.waitFor()).as("fsverity digest: %s", out).isZero();
        return out;
    }
}
