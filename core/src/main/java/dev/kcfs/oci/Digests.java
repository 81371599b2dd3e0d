package dev.kcfs.oci;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** OCI content digests ({@code algorithm:hex}); only sha256 is accepted, as by every registry in use. */
public final class Digests {
    private Digests() {}

    /**
     * The hex part of a {@code sha256:<64 lowercase hex>} digest, or an {@link OciException} naming {@code what}
     * (kind {@link OciException.Kind#INVALID_CONTENT}: digests come from descriptors; references rethrow).
     */
    public static String sha256Hex(String digest, String what) throws OciException {
        if (digest == null) {
            throw new OciException(OciException.Kind.INVALID_CONTENT, what + ": no digest");
        }
        int colon = digest.indexOf(':');
        if (colon < 0) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what + ": '" + digest + "' is not a digest (algorithm:hex)");
        }
        String alg = digest.substring(0, colon);
        String hex = digest.substring(colon + 1);
        if (!alg.equals("sha256")) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what + ": digest algorithm '" + alg + "' is not supported (only sha256)");
        }
        if (hex.length() != 64
                || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": '"
                            + digest
                            + "' is not a valid sha256 digest (64 lowercase hex digits)");
        }
        return hex;
    }

    public static boolean isDigest(String s) {
        return s.startsWith("sha256:") && s.length() == 71;
    }

    /** {@code sha256:<hex>} of some bytes. */
    public static String sha256(byte[] data) {
        try {
            return "sha256:"
                    + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
