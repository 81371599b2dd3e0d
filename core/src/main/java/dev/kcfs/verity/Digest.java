package dev.kcfs.verity;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A 32-byte fs-verity SHA-256 digest. Objects in a store and composefs images are named by it.
 */
public record Digest(byte[] bytes) implements Comparable<Digest> {
    public static final int LENGTH = 32;
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    public Digest {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("a sha256 digest has 32 bytes, got " + bytes.length);
        }
        bytes = bytes.clone();
    }

    /** Parses 64 hex digits (either case); throws {@link IllegalArgumentException} naming the problem. */
    public static Digest parse(CharSequence hex) {
        if (hex.length() != 2 * LENGTH) {
            throw new IllegalArgumentException(
                    "a sha256 digest is 64 hex digits, got "
                            + hex.length()
                            + " characters: '"
                            + hex
                            + "'");
        }
        for (int i = 0; i < hex.length(); i++) {
            if (Character.digit(hex.charAt(i), 16) < 0) {
                throw new IllegalArgumentException(
                        "not a hex digit at position " + i + " of digest '" + hex + "'");
            }
        }
        return new Digest(HEX.parseHex(hex));
    }

    /** Parses an object path {@code ab/cdef…} (2 hex, slash, 62 hex), or returns null if it is not one. */
    public static Digest fromObjectPath(CharSequence path) {
        if (path.length() != 2 * LENGTH + 1 || path.charAt(2) != '/') {
            return null;
        }
        StringBuilder hex =
                new StringBuilder(2 * LENGTH).append(path, 0, 2).append(path, 3, path.length());
        for (int i = 0; i < hex.length(); i++) {
            char c = hex.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return null;
            }
        }
        return new Digest(HEX.parseHex(hex));
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Lowercase hex, 64 characters. */
    public String hex() {
        return HEX.formatHex(bytes);
    }

    /** The object's path relative to an object directory: {@code ab/cdef…} (lowercase). */
    public String objectPath() {
        return new String(objectPathBytes(), StandardCharsets.US_ASCII);
    }

    /**
     * {@link #objectPath()} as ASCII bytes, made directly: images store it for every external
     * file, and building it through strings allocated three of them per file.
     */
    public byte[] objectPathBytes() {
        byte[] out = new byte[2 * LENGTH + 1];
        int o = 0;
        for (int i = 0; i < LENGTH; i++) {
            if (i == 1) {
                out[o++] = '/';
            }
            out[o++] = HEX_DIGITS[(bytes[i] >> 4) & 15];
            out[o++] = HEX_DIGITS[bytes[i] & 15];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Digest other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        // the bytes are already uniformly distributed
        return (bytes[0] & 0xff) << 24
                | (bytes[1] & 0xff) << 16
                | (bytes[2] & 0xff) << 8
                | (bytes[3] & 0xff);
    }

    @Override
    public int compareTo(Digest o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public String toString() {
        return hex();
    }
}
