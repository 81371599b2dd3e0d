package dev.kcfs.verity;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Upstream's fs-verity vectors (each also what `fsverity digest` prints; docs/format.md, 'fs-verity digests'). */
class FsVerityVectorsTest {

    static byte[] content(String kind, int size) {
        byte[] b = new byte[size];
        switch (kind) {
            case "zeros" -> {}
            case "mod251" -> {
                for (int i = 0; i < size; i++) {
                    b[i] = (byte) (i % 251);
                }
            }
            case "a" -> b = "a".getBytes(StandardCharsets.US_ASCII);
            case "hello" -> b = "hello\n".getBytes(StandardCharsets.US_ASCII);
            default -> throw new IllegalArgumentException(kind);
        }
        return b;
    }

    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({
        "zeros, 0, 3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95",
        "a, 1, bce75948b9e7510293f8f2720412af9697c1479281323f3f220623fb8e94b557",
        "hello, 6, 9c76eecc7b76fcb46199cb27b90cf59a660e10575bb0412128905129d5b1c2aa",
        "zeros, 65, 2d98e93d22d214e78052ae99e8a15efdb456e1a14295d3cb161b559eb35311a7",
        "zeros, 4096, babc284ee4ffe7f449377fbf6692715b43aec7bc39c094a95878904d34bac97e",
        "zeros, 4097, 093756e4ea9683329106d4a16982682ed182c14bf076463a9e7f97305cbac743",
        "zeros, 1048576, feb19a23e72cb1b8f935d668a09ecaad0bf7c5b9cdfa6dbba7c88a9998ed2b87",
        "mod251, 1000000, dbe1b6c44240d0b0642a25e6c1d5e399381c87474f3dcda2f3acb9495fa159d6",
    })
    void matchesVector(String kind, int size, String expected) {
        byte[] data = content(kind, size);
        assertThat(FsVerity.digest(data).hex()).isEqualTo(expected);
        for (BlockHash sha : blockHashes()) {
            String which = sha.getClass().getSimpleName();
            FsVerityHasher h = new FsVerityHasher(sha);
            assertThat(h.update(data).digest().hex()).as(which).isEqualTo(expected);
            // the same through odd-sized updates, which exercise the partial-block paths
            assertThat(digestInOddSteps(data, h, false).hex()).as(which).isEqualTo(expected);
            // and from direct buffers, hashed where they lie
            assertThat(digestInOddSteps(data, h, true).hex()).as(which).isEqualTo(expected);
        }
    }

    /** The JDK's SHA-256 always; libcrypto's where this machine has it. */
    static List<BlockHash> blockHashes() {
        return OpenSslBlockHash.AVAILABLE
                ? List.of(new BlockHash.Jdk(), new OpenSslBlockHash())
                : List.of(new BlockHash.Jdk());
    }

    /**
     * The digest of {@code data} fed in steps of 1, 4, 13, 40, … bytes, from its array or from a
     * direct buffer holding each step at an odd position.
     */
    static Digest digestInOddSteps(byte[] data, FsVerityHasher h, boolean direct) {
        ByteBuffer buf = ByteBuffer.allocateDirect(data.length + 7);
        int off = 0;
        int step = 1;
        while (off < data.length) {
            int n = Math.min(step, data.length - off);
            if (direct) {
                buf.clear().position(7);
                buf.put(data, off, n).flip().position(7);
                h.update(buf);
                assertThat(buf.hasRemaining()).isFalse();
            } else {
                h.update(data, off, n);
            }
            off += n;
            step = step * 3 + 1;
        }
        return h.digest();
    }
}
