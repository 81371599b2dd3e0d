package dev.kcfs.oci;

/** What an import reports as it goes (for a CLI progress line or metrics); called on the importing thread. */
public interface ImportProgress {
    ImportProgress NONE = new ImportProgress() {
    };

    /** The reference was resolved to a manifest (platform chosen). */
    default void resolved(String source, ImageManifest manifest) {
    }

    /** Bytes of a layer blob read so far (compressed), every few MiB while it streams. */
    default void layerBytes(int index, Descriptor layer, long compressedBytesSoFar) {
    }

    /**
     * A layer was fully read and verified.
     *
     * @param index          0-based
     * @param fileBytesSoFar uncompressed bytes of file bodies in the layers so far
     */
    default void layerDone(int index, int total, Descriptor layer, long fileBytesSoFar) {
    }
}
