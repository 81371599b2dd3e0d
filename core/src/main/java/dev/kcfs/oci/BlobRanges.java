package dev.kcfs.oci;

import java.io.IOException;

/**
 * Random access to one blob, for partial pulls: a registry's HTTP Range requests or a layout's
 * blob file read at offsets. Bytes read this way cannot be checked against the blob's digest (that
 * needs every byte); whoever reads them checks them against digests of their own (a zstd:chunked
 * table of contents, the file digests it lists, the layer's diff_id).
 */
@FunctionalInterface
public interface BlobRanges {
    /**
     * Exactly {@code length} bytes from {@code offset}, or null when the source cannot serve ranges
     * of this blob after all (a registry that ignores Range and answers with the whole blob).
     */
    byte[] read(long offset, int length) throws IOException;

    /**
     * Several ranges ({@code {offset, length}} each, ascending, apart), in as few requests as the
     * source allows; null as for {@link #read}. This default asks for one at a time.
     */
    default java.util.List<byte[]> readMany(java.util.List<long[]> ranges) throws IOException {
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        for (long[] r : ranges) {
            byte[] b = read(r[0], (int) r[1]);
            if (b == null) {
                return null;
            }
            out.add(b);
        }
        return out;
    }
}
