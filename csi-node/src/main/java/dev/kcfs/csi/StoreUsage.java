package dev.kcfs.csi;

/** Numbers about the node store for {@code /metrics}; the store computes them. */
@FunctionalInterface
public interface StoreUsage {
    /** {@code objects}: files in objects/; {@code bytes}: their size on disk; {@code logicalBytes}: bytes the images reference. */
    record Snapshot(long objects, long bytes, long logicalBytes) {}

    Snapshot snapshot();
}
