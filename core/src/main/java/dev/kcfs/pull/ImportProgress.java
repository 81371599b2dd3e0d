package dev.kcfs.pull;

import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.ImageManifest;

/** What an import reports as it goes (for a CLI progress line or metrics); called on the importing thread. */
public interface ImportProgress {
    ImportProgress NONE = new ImportProgress() {};

    /** The reference was resolved to a manifest (platform chosen). */
    default void resolved(String source, ImageManifest manifest) {}

    /** Bytes of a layer blob read so far (compressed), every few MiB while it streams. */
    default void layerBytes(int index, Descriptor layer, long compressedBytesSoFar) {}

    /**
     * How a layer was (or is being) pulled; told once per layer, before its {@link #layerDone}.
     *
     * @param partial      true: only what the store lacked was fetched (zstd:chunked); false: the whole blob
     * @param reason       why the layer was pulled whole (null when partial)
     * @param bytesFetched compressed bytes transferred for this layer (with a partial pull: table of contents, tar headers, missing bodies)
     * @param layerBytes   the layer blob's size
     * @param filesPresent file bodies taken from the store instead of the network (partial pulls)
     * @param filesFetched file bodies fetched (partial pulls)
     */
    record LayerPull(
            boolean partial,
            String reason,
            long bytesFetched,
            long layerBytes,
            int filesPresent,
            int filesFetched) {
        /** Why a layer of an image the store already holds is not fetched at all. */
        public static final String ALREADY_STORED =
                "the image of this manifest is already in the store";

        /** A layer not fetched: the image it belongs to was imported before and is still stored. */
        public static LayerPull alreadyStored(long layerBytes) {
            return new LayerPull(false, ALREADY_STORED, 0, layerBytes, 0, 0);
        }

        /** Whether this layer was not fetched because its image is already stored. */
        public boolean stored() {
            return !partial && ALREADY_STORED.equals(reason);
        }

        public String describe() {
            if (stored()) {
                return "not fetched (" + reason + ")";
            }
            return partial
                    ? "partial ("
                            + bytesFetched
                            + " of "
                            + layerBytes
                            + " bytes, "
                            + filesPresent
                            + " files from the store, "
                            + filesFetched
                            + " fetched)"
                    : "whole (" + reason + ")";
        }
    }

    /** The layer at {@code index} is pulled as {@code how} says. */
    default void layerPulled(int index, Descriptor layer, LayerPull how) {}

    /**
     * A layer was fully read and verified.
     *
     * @param index          0-based
     * @param fileBytesSoFar uncompressed bytes of file bodies in the layers so far
     */
    default void layerDone(int index, int total, Descriptor layer, long fileBytesSoFar) {}
}
