package dev.kcfs.image.erofs;

/**
 * 32-bit xxHash (XXH32), as in Linux {@code lib/xxhash.c}, used for the EROFS xattr name filter.
 * Hand-written because it is about 40 lines, runs once per xattr name, and the JDK has no xxHash;
 * a library (e.g. lz4-java, zero-allocation-hashing) would add a jar for one tiny function.
 */
final class Xxh32 {
    private static final int P1 = 0x9E3779B1;
    private static final int P2 = 0x85EBCA77;
    private static final int P3 = 0xC2B2AE3D;
    private static final int P4 = 0x27D4EB2F;
    private static final int P5 = 0x165667B1;

    private Xxh32() {}

    static int hash(byte[] b, int off, int len, int seed) {
        int end = off + len;
        int p = off;
        int h;
        if (len >= 16) {
            int v1 = seed + P1 + P2;
            int v2 = seed + P2;
            int v3 = seed;
            int v4 = seed - P1;
            int limit = end - 16;
            do {
                v1 = round(v1, le32(b, p));
                v2 = round(v2, le32(b, p + 4));
                v3 = round(v3, le32(b, p + 8));
                v4 = round(v4, le32(b, p + 12));
                p += 16;
            } while (p <= limit);
            h =
                    Integer.rotateLeft(v1, 1)
                            + Integer.rotateLeft(v2, 7)
                            + Integer.rotateLeft(v3, 12)
                            + Integer.rotateLeft(v4, 18);
        } else {
            h = seed + P5;
        }
        h += len;
        while (p + 4 <= end) {
            h += le32(b, p) * P3;
            h = Integer.rotateLeft(h, 17) * P4;
            p += 4;
        }
        while (p < end) {
            h += (b[p] & 0xff) * P5;
            h = Integer.rotateLeft(h, 11) * P1;
            p++;
        }
        h ^= h >>> 15;
        h *= P2;
        h ^= h >>> 13;
        h *= P3;
        h ^= h >>> 16;
        return h;
    }

    private static int round(int acc, int lane) {
        acc += lane * P2;
        acc = Integer.rotateLeft(acc, 13);
        return acc * P1;
    }

    private static int le32(byte[] b, int p) {
        return (b[p] & 0xff)
                | (b[p + 1] & 0xff) << 8
                | (b[p + 2] & 0xff) << 16
                | (b[p + 3] & 0xff) << 24;
    }
}
