package dev.kcfs.verity;

import java.nio.ByteBuffer;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 of whole 4096-byte blocks: the inner loop of every fs-verity digest, and the one place
 * that chooses how it runs. {@link #create()} gives OpenSSL's libcrypto when the machine has it
 * ({@link OpenSslBlockHash}), else the JDK's SHA-256 ({@link Jdk}). Both produce the same bytes;
 * the choice is speed: the JDK's SHA-256 is fast only after C2 has compiled it (tens of thousands
 * of blocks later), which a short-lived CLI process or a freshly started agent pays for every
 * time, while libcrypto runs its SHA extensions from the first block (issue 13). {@code
 * KCFS_NATIVE_SHA256=0} forces the JDK's.
 *
 * <p>Not thread-safe: one per hasher.
 */
sealed interface BlockHash permits BlockHash.Jdk, OpenSslBlockHash {
    int BLOCK = FsVerityHasher.BLOCK_SIZE;
    int HASH = Digest.LENGTH;

    /** Hashes {@code n} blocks of {@code src} from {@code off}; hash i goes to {@code out[outOff + 32 i]}. */
    void blocks(byte[] src, int off, int n, byte[] out, int outOff);

    /** Same from a direct buffer's absolute position {@code pos}. */
    void blocks(ByteBuffer direct, int pos, int n, byte[] out, int outOff);

    /** SHA-256 of {@code len} bytes (any length) of {@code src} into {@code out[outOff..+32]}. */
    void hash(byte[] src, int off, int len, byte[] out, int outOff);

    static BlockHash create() {
        if (OpenSslBlockHash.AVAILABLE) {
            return new OpenSslBlockHash();
        }
        return new Jdk();
    }

    /** What {@link #create()} uses here, for messages and benchmarks. */
    static String implementation() {
        return OpenSslBlockHash.AVAILABLE ? OpenSslBlockHash.describe() : "the JDK's SHA-256";
    }

    /** The JDK's SHA-256 (a C2 intrinsic once compiled). */
    final class Jdk implements BlockHash {
        private final MessageDigest sha = sha256();

        static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JVM has no SHA-256", e);
            }
        }

        @Override
        public void blocks(byte[] src, int off, int n, byte[] out, int outOff) {
            for (int i = 0; i < n; i++) {
                hash(src, off + i * BLOCK, BLOCK, out, outOff + i * HASH);
            }
        }

        @Override
        public void blocks(ByteBuffer direct, int pos, int n, byte[] out, int outOff) {
            for (int i = 0; i < n; i++) {
                sha.update(direct.slice(pos + i * BLOCK, BLOCK));
                finish(out, outOff + i * HASH);
            }
        }

        @Override
        public void hash(byte[] src, int off, int len, byte[] out, int outOff) {
            sha.update(src, off, len);
            finish(out, outOff);
        }

        private void finish(byte[] out, int outOff) {
            try {
                sha.digest(out, outOff, HASH);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
