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

    /**
     * Applies every layer of {@code image} in order. Each blob is read to its end, so each is verified
     * against its digest; file bodies go to {@code sink} (on {@code pipeline}'s threads if given).
     *
     * @param progress told as layers stream and finish, may be null
     */
    public static Directory build(ImageSource source, ImageManifest image, BodySink sink, BodyPipeline pipeline,
                                  ImportProgress progress) throws IOException {
        ImportProgress listener = progress != null ? progress : ImportProgress.NONE;
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
                    try {
                        InputStream tar = compression.decompress(blob);
                        builder.apply(tar, what);
                    } catch (IOException e) {
                        throw rootCause(blob, e);
                    }
                    // the decompressor may stop before the blob's end (trailing bytes): read them for the digest check
                    blob.transferTo(java.io.OutputStream.nullOutputStream());
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
