package dev.kcfs.pull.layer;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/** How a layer blob is compressed, from its media type. */
public enum LayerCompression {
    NONE,
    GZIP,
    ZSTD;

    /**
     * The compression of a layer media type, or throws {@link IllegalArgumentException} for media types
     * that are not tar layers (we never guess from the bytes: the manifest is what was signed and pinned).
     */
    public static LayerCompression ofMediaType(String mediaType) {
        if (mediaType == null) {
            throw new IllegalArgumentException("layer has no media type");
        }
        switch (mediaType) {
            case "application/vnd.oci.image.layer.v1.tar":
            case "application/vnd.oci.image.layer.nondistributable.v1.tar":
            case "application/vnd.docker.image.rootfs.diff.tar":
                return NONE;
            case "application/vnd.oci.image.layer.v1.tar+gzip":
            case "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip":
            case "application/vnd.docker.image.rootfs.diff.tar.gzip":
            case "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
                return GZIP;
            case "application/vnd.oci.image.layer.v1.tar+zstd":
            case "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
                return ZSTD;
            default:
                throw new IllegalArgumentException(
                        "unknown layer media type '"
                                + mediaType
                                + "' (supported: OCI and Docker tar layers, uncompressed, gzip or zstd)");
        }
    }

    /** Wraps a raw blob stream in the matching decompressor. */
    public InputStream decompress(InputStream raw) throws IOException {
        switch (this) {
            case GZIP:
                return new GZIPInputStream(raw, 64 * 1024);
            case ZSTD:
                return new ZstdInputStreamNoFinalizer(raw);
            default:
                return raw;
        }
    }
}
