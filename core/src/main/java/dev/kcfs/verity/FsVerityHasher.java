package dev.kcfs.verity;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Incremental fs-verity digest (SHA-256, 4096-byte blocks, no salt), as the kernel and
 * {@code fsverity digest} compute it. Not thread-safe; reuse one per thread with {@link #reset()}.
 *
 * <p>The Merkle tree is built level by level as data arrives: each level keeps one partial
 * 4096-byte block of child hashes, so memory is O(tree height) whatever the file size. The
 * SHA-256 itself is {@link BlockHash}'s choice (libcrypto or the JDK). Data in a direct buffer is
 * hashed where it lies.
 */
public final class FsVerityHasher {
    public static final int BLOCK_SIZE = 4096;
    private static final int HASH_SIZE = 32;
    private static final int DESCRIPTOR_SIZE = 256;

    /** Level-0 blocks hashed per {@link BlockHash} call. */
    private static final int BATCH = 64;

    private static final byte[] ZEROS = new byte[BLOCK_SIZE];

    private final BlockHash blockHash;

    /** level 0 is file data; level i > 0 holds hashes of level i-1 blocks. */
    private final List<Level> levels = new ArrayList<>();

    private final byte[] hashes = new byte[BATCH * HASH_SIZE];
    private final byte[] descriptor = new byte[DESCRIPTOR_SIZE];
    private long size;

    private static final class Level {
        final byte[] block = new byte[BLOCK_SIZE];
        int fill;
        long blocks;
        final byte[] lastHash = new byte[HASH_SIZE];
    }

    public FsVerityHasher() {
        this(BlockHash.create());
    }

    FsVerityHasher(BlockHash blockHash) {
        this.blockHash = blockHash;
        levels.add(new Level());
    }

    /** Which SHA-256 hashers use on this machine (for messages and benchmarks). */
    public static String implementation() {
        return BlockHash.implementation();
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
                hashBlock(0, l0.block);
                l0.fill = 0;
            }
        }
        // whole blocks straight from the caller's array
        while (len >= BLOCK_SIZE) {
            int n = Math.min(len / BLOCK_SIZE, BATCH);
            blockHash.blocks(data, off, n, hashes, 0);
            pushLevel0(n);
            off += n * BLOCK_SIZE;
            len -= n * BLOCK_SIZE;
        }
        if (len > 0) {
            System.arraycopy(data, off, l0.block, 0, len);
            l0.fill = len;
        }
        return this;
    }

    /** Consumes the buffer's remaining bytes; a direct buffer's whole blocks are not copied. */
    public FsVerityHasher update(ByteBuffer buf) {
        if (buf.hasArray()) {
            int n = buf.remaining();
            update(buf.array(), buf.arrayOffset() + buf.position(), n);
            buf.position(buf.position() + n);
            return this;
        }
        if (!buf.isDirect()) {
            byte[] tmp = new byte[Math.min(buf.remaining(), BATCH * BLOCK_SIZE)];
            while (buf.hasRemaining()) {
                int n = Math.min(tmp.length, buf.remaining());
                buf.get(tmp, 0, n);
                update(tmp, 0, n);
            }
            return this;
        }
        Level l0 = levels.get(0);
        if (l0.fill > 0) {
            int n = Math.min(buf.remaining(), BLOCK_SIZE - l0.fill);
            buf.get(l0.block, l0.fill, n);
            l0.fill += n;
            size += n;
            if (l0.fill < BLOCK_SIZE) {
                return this;
            }
            hashBlock(0, l0.block);
            l0.fill = 0;
        }
        while (buf.remaining() >= BLOCK_SIZE) {
            int n = Math.min(buf.remaining() / BLOCK_SIZE, BATCH);
            blockHash.blocks(buf, buf.position(), n, hashes, 0);
            pushLevel0(n);
            buf.position(buf.position() + n * BLOCK_SIZE);
            size += (long) n * BLOCK_SIZE;
        }
        int rest = buf.remaining();
        buf.get(l0.block, 0, rest);
        l0.fill = rest;
        size += rest;
        return this;
    }

    /** Records the {@code n} level-0 hashes in {@link #hashes} and pushes them one level up. */
    private void pushLevel0(int n) {
        Level l0 = levels.get(0);
        l0.blocks += n;
        System.arraycopy(hashes, (n - 1) * HASH_SIZE, l0.lastHash, 0, HASH_SIZE);
        for (int i = 0; i < n; i++) {
            push(1, hashes, i * HASH_SIZE);
        }
    }

    /** Hashes one full block of level {@code li} and pushes its hash one level up. */
    private void hashBlock(int li, byte[] block) {
        Level level = levels.get(li);
        blockHash.blocks(block, 0, 1, level.lastHash, 0);
        level.blocks++;
        push(li + 1, level.lastHash, 0);
    }

    /** Appends a child hash to level {@code li}, hashing the level's block when it is full. */
    private void push(int li, byte[] hash, int off) {
        if (li == levels.size()) {
            levels.add(new Level());
        }
        Level up = levels.get(li);
        System.arraycopy(hash, off, up.block, up.fill, HASH_SIZE);
        up.fill += HASH_SIZE;
        if (up.fill == BLOCK_SIZE) {
            hashBlock(li, up.block);
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
                    // a copy, not Arrays.fill: C1 (all a short CLI run has) compiles fill as a
                    // byte loop, arraycopy as a stub; this ran 4 % of a directory scan's CPU
                    System.arraycopy(ZEROS, 0, level.block, level.fill, BLOCK_SIZE - level.fill);
                    level.fill = 0;
                    // the zero-padded partial block is the last block of this level
                    hashBlock(li, level.block);
                }
                if (level.blocks == 1) {
                    System.arraycopy(level.lastHash, 0, root, 0, HASH_SIZE);
                    break;
                }
            }
        }
        // empty file: root hash is all zeros (kernel semantics)
        System.arraycopy(ZEROS, 0, descriptor, 0, DESCRIPTOR_SIZE);
        descriptor[0] = 1; // version
        descriptor[1] = 1; // sha256
        descriptor[2] = 12; // log2(4096)
        ByteBuffer.wrap(descriptor).order(ByteOrder.LITTLE_ENDIAN).putLong(8, size);
        System.arraycopy(root, 0, descriptor, 16, HASH_SIZE);
        byte[] out = new byte[HASH_SIZE];
        blockHash.hash(descriptor, 0, DESCRIPTOR_SIZE, out, 0);
        reset();
        return new Digest(out);
    }
}
