/**
 * OCI import: registry and layout sources, manifests, and the {@link dev.kcfs.oci.Importer} that turns
 * an image into a composefs image plus objects in the node store.
 *
 * <ul>
 *   <li>{@code oci.tar}: a byte-exact streaming tar reader (PAX, GNU, binary xattrs).</li>
 *   <li>{@code oci.layer}: layers applied to an in-memory tree (whiteouts, opaque dirs, hardlinks,
 *       path safety) with file bodies streamed once into a sink on worker threads; the mapping from
 *       tar metadata to the tree is documented on {@link dev.kcfs.oci.layer.TreeBuilder}.</li>
 *   <li>{@code oci.registry}: the distribution-API client (auth, retries, resumable verified blobs)
 *       and docker config credentials.</li>
 *   <li>{@code oci.layout}: OCI layout directories and OCI archives.</li>
 * </ul>
 * Every error crossing this package's boundary is an {@link dev.kcfs.oci.OciException} (or, from
 * inside a layer, a {@link dev.kcfs.oci.tar.TarFormatException}; both are IOExceptions naming the
 * image, blob or entry).
 */
package dev.kcfs.oci;
