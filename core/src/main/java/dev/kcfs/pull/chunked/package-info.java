/**
 * Partial pulls of zstd:chunked layers: {@link dev.kcfs.pull.chunked.ChunkedToc} reads a layer's
 * table of contents, and {@link dev.kcfs.pull.chunked.PartialLayer} fetches only the frames with
 * the tar headers and the bodies the store lacks (Range requests through {@link
 * dev.kcfs.oci.BlobRanges}), rebuilding the layer's tar so that its diff_id is still checked.
 *
 * <p>Depends on the OCI client model ({@code dev.kcfs.oci}), {@code dev.kcfs.oci.tar}, {@code
 * dev.kcfs.oci.stream} and {@code dev.kcfs.pull.layer}. Used by {@code dev.kcfs.pull}.
 */
package dev.kcfs.pull.chunked;
