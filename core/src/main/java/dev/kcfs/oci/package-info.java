/**
 * The OCI client: image references, descriptors, manifests and indexes, platforms, and the {@link
 * dev.kcfs.oci.ImageSource} interface through which an image's manifests and blobs are read. It
 * knows nothing of composefs or the store.
 *
 * <ul>
 *   <li>{@code oci.registry}: the distribution-API client (auth, retries, the plain-HTTP rule,
 *       resumable verified blobs, Range requests) and docker config credentials.
 *   <li>{@code oci.layout}: OCI layout directories and OCI archives.
 *   <li>{@code oci.sources}: the one place that knows every kind of source: a reference string
 *       ({@code registry/repo:tag}, {@code oci:DIR}, {@code oci-archive:FILE}) to an open source.
 *   <li>{@code oci.tar}: a byte-exact streaming tar reader (PAX, GNU, binary xattrs).
 *   <li>{@code oci.stream}: block streams and the hand-off between a producer and a consumer
 *       thread.
 * </ul>
 *
 * Dependencies point down: sources → registry, layout → this package → stream. The import of an
 * image into the node store is {@code dev.kcfs.pull}, on top of this client. Every error crossing
 * this package's boundary is an {@link dev.kcfs.oci.OciException} (or, from a tar stream, a {@link
 * dev.kcfs.oci.tar.TarFormatException}; both are IOExceptions naming the image, blob or entry).
 */
package dev.kcfs.oci;
