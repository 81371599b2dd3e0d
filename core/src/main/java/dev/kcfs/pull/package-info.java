/**
 * Pulling an OCI image into the node store: the {@link dev.kcfs.pull.Importer} resolves the
 * manifest through the OCI client ({@code dev.kcfs.oci}), applies the layers in order to one tree
 * ({@link dev.kcfs.pull.ImageTrees}), stores every file body once as an object, and writes the
 * composefs image. A manifest the store already imported is answered from the store's manifest
 * index without reading any layer.
 *
 * <ul>
 *   <li>{@code pull.layer}: a layer's tar applied to the in-memory tree (whiteouts, opaque
 *       directories, hardlinks, path safety), file bodies streamed once into a sink on worker
 *       threads; the mapping from tar metadata to the tree is documented on {@link
 *       dev.kcfs.pull.layer.TreeBuilder}.
 *   <li>{@code pull.chunked}: zstd:chunked layers read partially: the table of contents, then only
 *       the tar headers and the bodies the store lacks, rebuilt into the layer's tar so that its
 *       diff_id is still checked.
 * </ul>
 *
 * Depends on the OCI client, the tree, the EROFS writer and the store; nothing in {@code
 * dev.kcfs.oci} depends on it.
 */
package dev.kcfs.pull;
