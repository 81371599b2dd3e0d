package dev.kcfs.verity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.NativeLibrary;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** libcrypto's SHA-256 is used where the machine has it, and agrees with the JDK's. */
class OpenSslBlockHashTest {

    static boolean libcryptoPresent() {
        for (String name : new String[] {"libcrypto.so.3", "libcrypto.so.1.1", "crypto"}) {
            try {
                NativeLibrary.getInstance(name);
                return true;
            } catch (UnsatisfiedLinkError e) {
                // try the next name
            }
        }
        return false;
    }

    @Test
    void usedWhereLibcryptoIsPresent() {
        assumeTrue(libcryptoPresent(), "skipped: this machine has no libcrypto");
        assumeTrue(
                !"0".equals(System.getenv("KCFS_NATIVE_SHA256")),
                "skipped: KCFS_NATIVE_SHA256=0 turns libcrypto off");
        // false would mean a known-answer check failed and kcfs fell back to the JDK silently
        assertThat(OpenSslBlockHash.AVAILABLE).isTrue();
        assertThat(FsVerityHasher.implementation()).contains("OpenSSL");
    }

    @Test
    void blocksAndAnyLengthAgreeWithTheJdk() {
        assumeTrue(OpenSslBlockHash.AVAILABLE, "skipped: libcrypto's SHA-256 is not in use here");
        Random r = new Random(42);
        byte[] data = new byte[70 * BlockHash.BLOCK + 5];
        r.nextBytes(data);
        BlockHash jdk = new BlockHash.Jdk();
        BlockHash ssl = new OpenSslBlockHash();
        // 70 blocks at an odd offset: more than one staging round (64 blocks)
        byte[] want = new byte[70 * BlockHash.HASH];
        byte[] got = new byte[70 * BlockHash.HASH];
        jdk.blocks(data, 5, 70, want, 0);
        ssl.blocks(data, 5, 70, got, 0);
        assertThat(got).isEqualTo(want);
        for (int len : new int[] {0, 1, 55, 56, 63, 64, 65, 256, 4095}) {
            byte[] w = new byte[32];
            byte[] g = new byte[32];
            jdk.hash(data, 3, len, w, 0);
            ssl.hash(data, 3, len, g, 0);
            assertThat(g).as("%d bytes", len).isEqualTo(w);
        }
    }
}
