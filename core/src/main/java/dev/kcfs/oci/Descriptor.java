package dev.kcfs.oci;

import java.util.Map;

/**
 * An OCI content descriptor: what a manifest or index says about a blob.
 *
 * @param digest   {@code sha256:<64 hex>} (other algorithms are refused when parsing)
 * @param platform only on index entries, else null
 */
public record Descriptor(
        String mediaType,
        String digest,
        long size,
        Platform platform,
        Map<String, String> annotations) {
    public Descriptor {
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    public Descriptor(String mediaType, String digest, long size) {
        this(mediaType, digest, size, null, Map.of());
    }
}
