package dev.kcfs.pull;

import dev.kcfs.oci.BlobRanges;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.stream.BlockInputStream;
import dev.kcfs.oci.tar.TarFormatException;
import dev.kcfs.pull.chunked.ChunkedToc;
import dev.kcfs.pull.chunked.PartialLayer;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.LayerCompression;
import dev.kcfs.pull.layer.TreeBuilder;
import dev.kcfs.tree.Directory;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Streams the layers of a resolved image into a composefs tree, each layer once. */
public final class ImageTrees {
    private ImageTrees() {}

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

    /** A zstd:chunked layer pulled partially: the rebuilt tar goes through the same builder and diff_id check. */
    private static void applyPartial(
            TreeBuilder builder,
            PartialLayer prepared,
            String diffId,
            int index,
            Descriptor layer,
            String what,
            ImportProgress listener)
            throws IOException {
        try (PartialLayer partial = prepared) {
            listener.layerPulled(
                    index,
                    layer,
                    new ImportProgress.LayerPull(
                            true,
                            null,
                            partial.bytesFetched(),
                            layer.size(),
                            partial.filesPresent(),
                            partial.filesFetched()));
            Sha256Stream tar = new Sha256Stream(partial.tar());
            try {
                builder.apply(tar, what, partial.known());
            } catch (IOException e) {
                if (e.getClass().getName().startsWith("com.github.luben.zstd")) {
                    throw new OciException(
                            OciException.Kind.INVALID_CONTENT,
                            what
                                    + ": a fetched range is not valid zstd ("
                                    + e.getMessage()
                                    + "); the table of contents does not match the blob's frames, refused",
                            e);
                }
                throw e;
            }
            partial.checkComplete();
            String actual = tar.digest();
            if (!actual.equals(diffId)) {
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what
                                + ": the tar rebuilt from the fetched ranges"
                                + " and the stored objects is "
                                + actual
                                + " but the image config's rootfs.diff_ids["
                                + index
                                + "] says "
                                + diffId
                                + "; the layer's frames or table of contents are inconsistent (or a stored object is corrupt:"
                                + " run kcfs store fsck), refused");
            }
        }
    }

    /**
     * A layer that does not parse is usually a corrupt download: read the rest of the blob so its digest
     * check can say so (that is the error worth reporting); otherwise the parse error stands.
     */
    private static IOException rootCause(InputStream blob, IOException parseError) {
        if (parseError instanceof OciException
                && parseError.getMessage().contains("blob sha256:")) {
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
    private static List<String> diffIds(ImageSource source, ImageManifest image)
            throws IOException {
        Descriptor config = image.config();
        String what = source.describe() + " config " + config.digest();
        if (config.size() > Manifests.MAX_CONFIG_SIZE) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": "
                            + config.size()
                            + " bytes exceeds the "
                            + Manifests.MAX_CONFIG_SIZE
                            + "-byte limit for image configs");
        }
        byte[] bytes;
        try (InputStream in = source.openBlob(config)) {
            bytes = in.readAllBytes();
        }
        List<String> ids = Manifests.diffIds(bytes, what);
        if (ids.size() != image.layers().size()) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": rootfs.diff_ids lists "
                            + ids.size()
                            + " layers, the manifest "
                            + image.layers().size()
                            + "; the image is inconsistent, refused");
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
    public static Directory build(
            ImageSource source,
            ImageManifest image,
            BodySink sink,
            BodyPipeline pipeline,
            ImportProgress progress)
            throws IOException {
        return build(source, image, sink, pipeline, progress, null);
    }

    /**
     * What partial pulls of zstd:chunked layers need from the store.
     *
     * @param lookup     finds a stored object by the sha256 of its content
     * @param objectPath where a stored object's bytes are
     * @param inFlight   range requests at once per layer
     */
    public record PartialPulls(
            PartialLayer.Lookup lookup,
            java.util.function.Function<Digest, java.nio.file.Path> objectPath,
            int inFlight) {}

    /**
     * {@link #build(ImageSource, ImageManifest, BodySink, BodyPipeline, ImportProgress)}, pulling
     * zstd:chunked layers partially where {@code partials} is given, the source serves ranges and
     * the layer has a table of contents: only the tar headers and the bodies the store lacks are
     * fetched (see {@link PartialLayer}). Any other layer is streamed whole. Either way the same tar
     * is applied and checked against its diff_id, so the tree is the same.
     */
    public static Directory build(
            ImageSource source,
            ImageManifest image,
            BodySink sink,
            BodyPipeline pipeline,
            ImportProgress progress,
            PartialPulls partials)
            throws IOException {
        ImportProgress listener = progress != null ? progress : ImportProgress.NONE;
        List<String> diffIds = diffIds(source, image);
        TreeBuilder builder = new TreeBuilder(sink, pipeline);
        // the next layer's table of contents and first ranges are fetched while this one is applied
        ExecutorService ahead =
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "kcfs-layer-ahead");
                            t.setDaemon(true);
                            return t;
                        });
        Future<Prepared> next = ahead.submit(() -> prepare(source, image, 0, partials));
        boolean ok = false;
        try {
            for (int index = 0; index < image.layers().size(); index++) {
                Prepared prepared = await(next, source);
                int following = index + 1;
                next =
                        following < image.layers().size()
                                ? ahead.submit(() -> prepare(source, image, following, partials))
                                : null;
                Descriptor layer = prepared.layer();
                LayerCompression compression = prepared.compression();
                String what = prepared.what();
                int layerIndex = index;
                String reason = prepared.reason();
                PartialLayer partial = prepared.partial();
                if (partial != null) {
                    applyPartial(
                            builder, partial, diffIds.get(index), index, layer, what, listener);
                } else {
                    listener.layerPulled(
                            index,
                            layer,
                            new ImportProgress.LayerPull(
                                    false, reason, layer.size(), layer.size(), 0, 0));
                    try (InputStream blob =
                            counting(
                                    source.openBlob(layer),
                                    n -> listener.layerBytes(layerIndex, layer, n))) {
                        Sha256Stream tar;
                        try {
                            tar = new Sha256Stream(compression.decompress(blob));
                            builder.apply(tar, what);
                        } catch (IOException e) {
                            throw rootCause(blob, e);
                        }
                        // the decompressor may stop before the blob's end (trailing bytes): read
                        // them for the digest check
                        blob.transferTo(java.io.OutputStream.nullOutputStream());
                        // only now is the blob verified, so a mismatch here is the config's (or the
                        // image's) fault
                        String diffId = tar.digest();
                        if (!diffId.equals(diffIds.get(index))) {
                            throw new OciException(
                                    OciException.Kind.INVALID_CONTENT,
                                    what
                                            + ": uncompressed content is "
                                            + diffId
                                            + " but the image config's rootfs.diff_ids["
                                            + index
                                            + "] says "
                                            + diffIds.get(index)
                                            + "; the image is inconsistent (built or edited wrongly), refused");
                        }
                    } catch (TarFormatException | OciException e) {
                        throw e;
                    } catch (java.util.zip.ZipException e) {
                        throw new OciException(
                                what + ": not valid gzip (" + e.getMessage() + ")", e);
                    } catch (IOException e) {
                        if (e.getClass().getName().startsWith("com.github.luben.zstd")) {
                            throw new OciException(
                                    what + ": not valid zstd (" + e.getMessage() + ")", e);
                        }
                        throw e;
                    }
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
            closeAhead(ahead, next);
        }
    }

    /** A layer made ready to apply: how it is read and, for a partial pull, its plan with the first ranges on their way. */
    private record Prepared(
            Descriptor layer,
            LayerCompression compression,
            String what,
            String reason,
            PartialLayer partial) {}

    /** Everything about layer {@code index} that can happen before the layers below it are applied. */
    private static Prepared prepare(
            ImageSource source, ImageManifest image, int index, PartialPulls partials)
            throws IOException {
        Descriptor layer = image.layers().get(index);
        LayerCompression compression;
        try {
            compression = LayerCompression.ofMediaType(layer.mediaType());
        } catch (IllegalArgumentException e) {
            throw new OciException(
                    source.describe() + ": layer " + layer.digest() + ": " + e.getMessage());
        }
        String what = source.describe() + " layer " + layer.digest();
        String reason = partials == null ? "partial pulls off" : ChunkedToc.notChunked(layer);
        BlobRanges ranges = reason == null ? source.ranges(layer) : null;
        if (reason == null && ranges == null) {
            reason = "the source cannot read parts of blobs";
        }
        ChunkedToc toc = null;
        if (reason == null) {
            try {
                toc = ChunkedToc.read(layer, ranges, what);
                if (toc == null) {
                    reason = "the registry ignores Range requests";
                }
            } catch (ChunkedToc.Unsupported e) {
                reason = "table of contents not usable: " + e.getMessage();
            }
        }
        PartialLayer partial = null;
        if (toc != null) {
            partial =
                    new PartialLayer(
                            toc,
                            ranges,
                            partials.lookup(),
                            partials.objectPath(),
                            partials.inFlight(),
                            what);
            partial.prefetch();
        }
        return new Prepared(layer, compression, what, reason, partial);
    }

    private static Prepared await(Future<Prepared> f, ImageSource source) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException(
                    source.describe() + ": interrupted while reading a layer's table of contents");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new OciException(source.describe() + ": " + e.getCause(), e.getCause());
        }
    }

    /** Stops preparing and releases a prepared layer that was not applied (an import that failed). */
    private static void closeAhead(ExecutorService ahead, Future<Prepared> next) {
        ahead.shutdownNow();
        try {
            ahead.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (next != null && next.isDone() && !next.isCancelled()) {
            try {
                Prepared p = next.get();
                if (p.partial() != null) {
                    p.partial().close();
                }
            } catch (InterruptedException | ExecutionException e) {
                // it failed; nothing to release
            }
        }
    }
}
