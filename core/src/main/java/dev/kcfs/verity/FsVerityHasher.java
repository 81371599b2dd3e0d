package dev.kcfs.verity;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * Incremental fs-verity digest (SHA-256, 4096-byte blocks, no salt), as the kernel and
 * {@code fsverity digest} compute it. Not thread-safe; reuse one per thread with {@link #reset()}.
 *
 * <p>The Merkle tree is built level by level as data arrives: each level keeps one partial
 * 4096-byte block of child hashes, so memory is O(tree height) whatever the file size.
 */
public final class FsVerityHasher {
    public static final int BLOCK_SIZE = 4096;
    private static final int HASH_SIZE = 32;
    private static final int DESCRIPTOR_SIZE = 256;

    private final MessageDigest sha = sha256();

    /** level 0 is file data; level i > 0 holds hashes of level i-1 blocks. */
    private final List<Level> levels = new ArrayList<>();

    private final byte[] hashOut = new byte[HASH_SIZE];
    private final byte[] descriptor = new byte[DESCRIPTOR_SIZE];
    private long size;

    private static final class Level {
        final byte[] block = new byte[BLOCK_SIZE];
        int fill;
        long blocks;
        final byte[] lastHash = new byte[HASH_SIZE];
    }

    public FsVerityHasher() {
        levels.add(new Level());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    public FsVerityHasher reset() {
        for (Level level : levels) {
            level.fill = 0;
            level.blocks = 0;
        }
        size = 0;
        return this;
    }

    /** Bytes consumed so far. */
    public long size() {
        return size;
    }

    public FsVerityHasher update(byte[] data) {
        return update(data, 0, data.length);
    }

    public FsVerityHasher update(byte[] data, int off, int len) {
        size += len;
        Level l0 = levels.get(0);
        // finish a partial block first
        if (l0.fill > 0) {
            int n = Math.min(len, BLOCK_SIZE - l0.fill);
            System.arraycopy(data, off, l0.block, l0.fill, n);
            l0.fill += n;
            off += n;
            len -= n;
            if (l0.fill == BLOCK_SIZE) {
                hashBlock(0, l0.block, 0);
                l0.fill = 0;
            }
        }
        // whole blocks straight from the caller's array, no copy
        while (len >= BLOCK_SIZE) {
            hashBlock(0, data, off);
            off += BLOCK_SIZE;
            len -= BLOCK_SIZE;
        }
        if (len > 0) {
            System.arraycopy(data, off, l0.block, 0, len);
            l0.fill = len;
        }
        return this;
    }

    public FsVerityHasher update(ByteBuffer buf) {
        if (buf.hasArray()) {
            int n = buf.remaining();
            update(buf.array(), buf.arrayOffset() + buf.position(), n);
            buf.position(buf.position() + n);
            return this;
        }
        byte[] tmp = new byte[Math.min(buf.remaining(), 64 * BLOCK_SIZE)];
        while (buf.hasRemaining()) {
            int n = Math.min(tmp.length, buf.remaining());
            buf.get(tmp, 0, n);
            update(tmp, 0, n);
        }
        return this;
    }

    /** Hashes one full block of level {@code li} and pushes its hash one level up. */
    private void hashBlock(int li, byte[] data, int off) {
        Level level = levels.get(li);
        sha.update(data, off, BLOCK_SIZE);
        try {
            sha.digest(level.lastHash, 0, HASH_SIZE);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
        level.blocks++;
        if (li + 1 == levels.size()) {
            levels.add(new Level());
        }
        Level up = levels.get(li + 1);
        System.arraycopy(level.lastHash, 0, up.block, up.fill, HASH_SIZE);
        up.fill += HASH_SIZE;
        if (up.fill == BLOCK_SIZE) {
            hashBlock(li + 1, up.block, 0);
            up.fill = 0;
        }
    }

    /** The fs-verity digest of everything consumed; the hasher is reset afterwards. */
    public Digest digest() {
        byte[] root = new byte[HASH_SIZE];
        if (size > 0) {
            for (int li = 0; ; li++) {
                Level level = levels.get(li);
                if (level.fill > 0) {
                    java.util.Arrays.fill(level.block, level.fill, BLOCK_SIZE, (byte) 0);
                    level.fill = 0;
                    // the zero-padded partial block is the last block of this level
                    hashBlock(li, level.block, 0);
                }
                if (level.blocks == 1) {
                    System.arraycopy(level.lastHash, 0, root, 0, HASH_SIZE);
                    break;
                }
            }
        }
        // empty file: root hash is all zeros (kernel semantics)
        java.util.Arrays.fill(descriptor, (byte) 0);
        descriptor[0] = 1; // version
        descriptor[1] = 1; // sha256
        descriptor[2] = 12; // log2(4096)
        ByteBuffer.wrap(descriptor).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(8, size);
        System.arraycopy(root, 0, descriptor, 16, HASH_SIZE);
        Digest d = new Digest(sha.digest(descriptor));
        reset();
        return d;
    }
}
