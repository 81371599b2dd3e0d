/**
 * One layer of an image applied to the in-memory composefs tree: the {@link
 * dev.kcfs.pull.layer.TreeBuilder} reads a layer's tar (whiteouts, opaque directories, hardlinks,
 * path safety, the limits hostile layers meet), {@link dev.kcfs.pull.layer.LayerCompression} picks
 * the decompressor from the media type, and file bodies stream once into a {@link
 * dev.kcfs.pull.layer.BodySink}, on worker threads when a {@link dev.kcfs.pull.layer.BodyPipeline}
 * is used.
 *
 * <p>Depends on {@code dev.kcfs.oci.tar}, {@code dev.kcfs.oci.stream}, the tree and fs-verity
 * digests; it knows neither manifests nor image sources. Used by {@code dev.kcfs.pull} and {@code
 * dev.kcfs.pull.chunked}.
 */
package dev.kcfs.pull.layer;
