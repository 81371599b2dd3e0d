package dev.kcfs.verity;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** fs-verity digests (SHA-256, 4096-byte blocks, no salt) of byte arrays, streams and files. */
public final class FsVerity {
    private static final int READ_CHUNK = 64 * FsVerityHasher.BLOCK_SIZE;

    private FsVerity() {}

    public static Digest digest(byte[] data) {
        return new FsVerityHasher().update(data).digest();
    }

    /** Reads the stream to its end (does not close it). */
    public static Digest digest(InputStream in) throws IOException {
        FsVerityHasher hasher = new FsVerityHasher();
        byte[] buf = new byte[READ_CHUNK];
        int n;
        while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
            hasher.update(buf, 0, n);
        }
        return hasher.digest();
    }

    public static Digest digest(Path file) throws IOException {
        return digest(file, new FsVerityHasher(), readBuffer());
    }

    /**
     * A buffer to read files into for hashing (keep one per thread): direct, so that a {@link
     * FileChannel} reads into it without a copy and {@link FsVerityHasher} hashes it in place.
     */
    public static ByteBuffer readBuffer() {
        return ByteBuffer.allocateDirect(READ_CHUNK);
    }

    /** Digest of a file reusing the caller's hasher and heap buffer (one pair per thread). */
    public static Digest digest(Path file, FsVerityHasher hasher, ByteBuffer buffer)
            throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return digest(ch, hasher, buffer);
        }
    }

    /** Digest of a channel from its current position to its end. */
    public static Digest digest(FileChannel ch, FsVerityHasher hasher, ByteBuffer buffer)
            throws IOException {
        hasher.reset();
        buffer.clear();
        while (ch.read(buffer) >= 0) {
            if (!buffer.hasRemaining()) {
                buffer.flip();
                hasher.update(buffer);
                buffer.clear();
            }
        }
        buffer.flip();
        hasher.update(buffer);
        return hasher.digest();
    }
}
