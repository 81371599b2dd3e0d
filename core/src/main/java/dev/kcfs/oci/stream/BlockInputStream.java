package dev.kcfs.oci.stream;

import java.io.IOException;
import java.io.InputStream;

/**
 * A stream whose one real read is the block read: the single-byte {@link #read()} goes through
 * {@link #read(byte[], int, int)}, so every byte passes the subclass's bounds, counting and checks.
 * Filter streams that must keep {@link java.io.FilterInputStream}'s delegation (available, close)
 * call {@link #readOne(InputStream)} instead of extending this. In a package of its own because the
 * tar and layer streams use it, and they sit below {@code dev.kcfs.oci}.
 */
public abstract class BlockInputStream extends InputStream {

    @Override
    public final int read() throws IOException {
        return readOne(this);
    }

    @Override
    public abstract int read(byte[] b, int off, int len) throws IOException;

    /** One byte of {@code stream} read through its block read; -1 at the end. */
    public static int readOne(InputStream stream) throws IOException {
        byte[] one = new byte[1];
        int n = stream.read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }
}
