package dev.kcfs.oci;

import dev.kcfs.oci.layer.BodyPipeline;
import dev.kcfs.oci.layer.BodySink;
import dev.kcfs.oci.layer.LayerCompression;
import dev.kcfs.oci.layer.TreeBuilder;
import dev.kcfs.oci.stream.BlockInputStream;
import dev.kcfs.oci.tar.TarFormatException;
import dev.kcfs.tree.Directory;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** Streams the layers of a resolved image into a composefs tree, each layer once. */
public final class ImageTrees {
    private ImageTrees() {
    }

    /** How often (compressed bytes) {@link ImportProgress#layerBytes} is called while a layer streams. */
    private static final long PROGRESS_STEP = 4 << 20;

    /** Reports bytes read every {@link #PROGRESS_STEP} bytes. */
    private static InputStream counting(InputStream in, java.util.function.LongConsumer report) {
        return new java.io.FilterInputStream(in) {
            private long count;
            private long next = PROGRESS_STEP;

            @Override
            public int read() throws IOException {
                return BlockInputStream.readOne(this);
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n > 0) {
                    count += n;
                    if (count >= next) {
                        next = count + PROGRESS_STEP;
                        report.accept(count);
                    }
                }
                return n;
            }
        };
    }

    /**
     * A layer that does not parse is usually a corrupt download: read the rest of the blob so its digest
     * check can say so (that is the error worth reporting); otherwise the parse error stands.
     */
    private static IOException rootCause(InputStream blob, IOException parseError) {
        if (parseError instanceof OciException && parseError.getMessage().contains("blob sha256:")) {
            return parseError; // already a transfer or digest error
        }
        try {
            blob.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (OciException digestError) {
            digestError.addSuppressed(parseError);
            return digestError;
        } catch (IOException ignored) {
            // the parse error is the better message
        }
        return parseError;
    }

    /** The config's diff_ids, one per layer (read through the config's own digest check). */
    private static List<String> diffIds(ImageSource source, ImageManifest image) throws IOException {
        Descriptor config = image.config();
        String what = source.describe() + " config " + config.digest();
        if (config.size() > Manifests.MAX_CONFIG_SIZE) {
            throw new OciException(OciException.Kind.INVALID_CONTENT, what + ": " + config.size() + " bytes exceeds the "
                    + Manifests.MAX_CONFIG_SIZE + "-byte limit for image configs");
        }
        byte[] bytes;
        try (InputStream in = source.openBlob(config)) {
            bytes = in.readAllBytes();
        }
        List<String> ids = Manifests.diffIds(bytes, what);
        if (ids.size() != image.layers().size()) {
            throw new OciException(OciException.Kind.INVALID_CONTENT, what + ": rootfs.diff_ids lists " + ids.size()
                    + " layers, the manifest " + image.layers().size() + "; the image is inconsistent, refused");
        }
        return ids;
    }

    /** Passes a layer's uncompressed tar through, computing its sha256 (its diff_id) on the way. */
    private static final class Sha256Stream extends BlockInputStream {
        private final InputStream in;
        private final java.security.MessageDigest sha256;

        Sha256Stream(InputStream in) {
            this.in = in;
            try {
                this.sha256 = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                sha256.update(b, off, n);
            }
            return n;
        }

        String digest() {
            return "sha256:" + java.util.HexFormat.of().formatHex(sha256.digest());
        }
    }

    /**
     * Applies every layer of {@code image} in order. Each blob is read to its end, so each is verified
     * against its digest; file bodies go to {@code sink} (on {@code pipeline}'s threads if given).
     *
     * @param progress told as layers stream and finish, may be null
     */
    public static Directory build(ImageSource source, ImageManifest image, BodySink sink, BodyPipeline pipeline,
                                  ImportProgress progress) throws IOException {
        ImportProgress listener = progress != null ? progress : ImportProgress.NONE;
        List<String> diffIds = diffIds(source, image);
        TreeBuilder builder = new TreeBuilder(sink, pipeline);
        boolean ok = false;
        try {
            for (int index = 0; index < image.layers().size(); index++) {
                Descriptor layer = image.layers().get(index);
                LayerCompression compression;
                try {
                    compression = LayerCompression.ofMediaType(layer.mediaType());
                } catch (IllegalArgumentException e) {
                    throw new OciException(source.describe() + ": layer " + layer.digest() + ": " + e.getMessage());
                }
                String what = source.describe() + " layer " + layer.digest();
                int layerIndex = index;
                try (InputStream blob = counting(source.openBlob(layer), n -> listener.layerBytes(layerIndex, layer, n))) {
                    Sha256Stream tar;
                    try {
                        tar = new Sha256Stream(compression.decompress(blob));
                        builder.apply(tar, what);
                    } catch (IOException e) {
                        throw rootCause(blob, e);
                    }
                    // the decompressor may stop before the blob's end (trailing bytes): read them for the digest check
                    blob.transferTo(java.io.OutputStream.nullOutputStream());
                    // only now is the blob verified, so a mismatch here is the config's (or the image's) fault
                    String diffId = tar.digest();
                    if (!diffId.equals(diffIds.get(index))) {
                        throw new OciException(OciException.Kind.INVALID_CONTENT, what + ": uncompressed content is " + diffId
                                + " but the image config's rootfs.diff_ids[" + index + "] says " + diffIds.get(index)
                                + "; the image is inconsistent (built or edited wrongly), refused");
                    }
                } catch (TarFormatException | OciException e) {
                    throw e;
                } catch (java.util.zip.ZipException e) {
                    throw new OciException(what + ": not valid gzip (" + e.getMessage() + ")", e);
                } catch (IOException e) {
                    if (e.getClass().getName().startsWith("com.github.luben.zstd")) {
                        throw new OciException(what + ": not valid zstd (" + e.getMessage() + ")", e);
                    }
                    throw e;
                }
                listener.layerDone(index, image.layers().size(), layer, builder.bodyBytes());
            }
            Directory root = builder.finish();
            ok = true;
            return root;
        } finally {
            if (!ok) {
                builder.abort();
            }
        }
    }
}
