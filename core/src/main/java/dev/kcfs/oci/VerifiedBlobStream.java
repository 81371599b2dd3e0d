package dev.kcfs.oci;

import dev.kcfs.oci.stream.BlockInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Passes a blob through while checking it against its descriptor: more bytes than the declared size
 * fail at once, and at the end of the stream the size and sha256 must match. Whoever reads to EOF
 * without an exception has read exactly the content the descriptor names.
 */
public final class VerifiedBlobStream extends FilterInputStream {
    private final MessageDigest sha256;
    private final String expectedHex;
    private final long expectedSize;
    private final String what;
    private long count;
    private boolean verified;

    /**
     * @param digest {@code sha256:<hex>}
     * @param what   names the blob for messages (source and digest)
     */
    public VerifiedBlobStream(InputStream in, String digest, long size, String what)
            throws OciException {
        super(in);
        this.expectedHex = Digests.sha256Hex(digest, what);
        this.expectedSize = size;
        this.what = what;
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public int read() throws IOException {
        return BlockInputStream.readOne(this);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n;
        try {
            n = in.read(b, off, len);
        } catch (OciException e) {
            throw e;
        } catch (java.io.InterruptedIOException e) {
            throw e;
        } catch (IOException e) {
            throw new OciException(
                    OciException.Kind.UNREACHABLE,
                    what
                            + ": transfer failed after "
                            + count
                            + " of "
                            + expectedSize
                            + " bytes ("
                            + e.getMessage()
                            + ")",
                    e);
        }
        if (n < 0) {
            verifyAtEnd();
            return -1;
        }
        count += n;
        if (count > expectedSize) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": more data than the "
                            + expectedSize
                            + " bytes its descriptor declares; the source is broken or hostile");
        }
        sha256.update(b, off, n);
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // skipping would bypass the hash; read instead
        byte[] buf = new byte[(int) Math.min(n, 64 * 1024)];
        int r = read(buf, 0, buf.length);
        return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void verifyAtEnd() throws OciException {
        if (verified) {
            return;
        }
        if (count != expectedSize) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what + ": truncated, got " + count + " of " + expectedSize + " bytes");
        }
        String actual = HexFormat.of().formatHex(sha256.digest());
        if (!actual.equals(expectedHex)) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": digest mismatch, content is sha256:"
                            + actual
                            + "; the source serves corrupt or tampered data");
        }
        verified = true;
    }

    /** Whether the whole blob was read and matched. */
    public boolean verified() {
        return verified;
    }
}
