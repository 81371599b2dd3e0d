package dev.kcfs.oci;

import java.io.IOException;
import java.io.InputStream;

/** Where an image comes from: a registry or an OCI layout/archive on disk. */
public interface ImageSource extends AutoCloseable {
    /** Resolves the reference to one manifest, choosing from an index by platform. */
    ImageManifest resolve(Platform platform) throws IOException;

    /**
     * Streams a blob; the stream fails (at the latest when it reaches the end) if the bytes do not
     * match the descriptor's digest and size, so a fully read stream is verified content.
     */
    InputStream openBlob(Descriptor blob) throws IOException;

    /**
     * Random access to a blob, or null when this source has none (then only {@link #openBlob} reads it).
     * Used for partial pulls of zstd:chunked layers.
     */
    default BlobRanges ranges(Descriptor blob) throws IOException {
        return null;
    }

    /** Names the source for messages. */
    String describe();

    @Override
    default void close() throws IOException {}
}
