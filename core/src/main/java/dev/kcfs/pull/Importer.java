package dev.kcfs.pull;

import dev.kcfs.image.erofs.ErofsException;
import dev.kcfs.image.erofs.ErofsFormat;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.sources.ImageSources;
import dev.kcfs.oci.stream.Handoff;
import dev.kcfs.pull.layer.BodyPipeline;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.store.ObjectDirectory;
import dev.kcfs.store.ObjectList;
import dev.kcfs.store.Store;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Imports an OCI image into the node store: reference → manifest (platform chosen) → each layer
 * streamed once (verified against its digest while it arrives) → file bodies into {@code objects/}
 * while they stream → tree → composefs image (pinned to {@link ErofsFormat#DEFAULT_FORMAT_VERSION}) → {@code images/}
 * → ref.
 *
 * <p>Guarantees: a store lease is held for the whole import, so GC cannot collect objects between
 * "written" and "referenced". New objects become visible only when every layer has been read and
 * verified (one batch commit); on any failure the batch is discarded and no image or ref is
 * written. A repeated import writes no objects (each body is still streamed and hashed, because a
 * body's digest is known only once it has been read). The same image gives the same composefs
 * digest on every machine (see {@link dev.kcfs.pull.layer.TreeBuilder} for how tar maps to the tree).
 *
 * <p>Threads: the calling thread inflates and parses; the {@link BodyPipeline}'s workers hash and
 * write bodies; the image is written on a thread of its own straight into the store through a
 * {@link Handoff}. A failure on any of them ends the import at once with that failure, and the
 * lease, locks and temporaries are released. Memory is bounded by the pipeline's chunk pool plus
 * the tree's metadata.
 */
public final class Importer implements AutoCloseable {
    private final Store store;
    private final RegistryClient registry;
    private final BodyPipeline pipeline;
    private final boolean partialPulls;

    /** @param pipeline body workers, owned (closed) by this importer */
    public Importer(Store store, RegistryClient registry, BodyPipeline pipeline) {
        this(store, registry, pipeline, true);
    }

    /**
     * @param partialPulls false: stream every layer whole even where a zstd:chunked layer could be
     *                     pulled partially (for comparisons and benchmarks)
     */
    public Importer(
            Store store, RegistryClient registry, BodyPipeline pipeline, boolean partialPulls) {
        this.store = store;
        this.registry = registry;
        this.pipeline = pipeline;
        this.partialPulls = partialPulls;
    }

    /** An importer with one body worker per core and 32 MiB of body buffers. */
    public Importer(Store store, RegistryClient registry) {
        this(store, registry, BodyPipeline.forThisMachine());
    }

    /**
     * What an import did.
     *
     * @param imageDigest    the composefs image's fs-verity digest (its name in {@code images/})
     * @param manifestDigest the manifest imported (after platform selection)
     * @param refName        the ref set, or null
     * @param layers         number of layers applied
     * @param layerBytes     compressed bytes downloaded/read
     * @param fileBytes      uncompressed bytes of regular-file bodies in the layers
     * @param objectsAdded   objects new to the store
     * @param objectsPresent bodies whose object was already there (or repeated within the image)
     * @param bytesFetched   compressed bytes transferred for the layers (less than layerBytes when layers were pulled partially)
     * @param pulls          how each layer was pulled, in layer order
     */
    public record Result(
            Digest imageDigest,
            String manifestDigest,
            String refName,
            int layers,
            long layerBytes,
            long fileBytes,
            int objectsAdded,
            int objectsPresent,
            long bytesFetched,
            java.util.List<ImportProgress.LayerPull> pulls) {
        public Result {
            pulls = java.util.List.copyOf(pulls);
        }

        /** Layers not fetched at all: this manifest's image was already stored. */
        public int storedLayers() {
            return (int) pulls.stream().filter(ImportProgress.LayerPull::stored).count();
        }

        /** Layers pulled partially (zstd:chunked, only what the store lacked). */
        public int partialLayers() {
            return (int) pulls.stream().filter(ImportProgress.LayerPull::partial).count();
        }
    }

    /** Range requests in flight per partially pulled layer. */
    static final int RANGE_REQUESTS_IN_FLIGHT = 4;

    /**
     * Pulls {@code reference} (registry reference, {@code oci:DIR[:TAG]} or
     * {@code oci-archive:FILE[:TAG]}; see {@link ImageSources}) and points {@code refName} at it
     * (null: no ref; the image is then only kept by a later ref or a mount).
     */
    public Result pull(String reference, Platform platform, String refName, ImportProgress progress)
            throws IOException {
        return pull(reference, platform, refName, progress, ErofsFormat.DEFAULT_FORMAT_VERSION);
    }

    /**
     * {@link #pull} writing composefs format {@code formatVersion} (in {@link ErofsFormat}'s range) instead of the pinned default:
     * a ComposefsImage may ask for version 0 so old kernels and tools can read it.
     */
    public Result pull(
            String reference,
            Platform platform,
            String refName,
            ImportProgress progress,
            int formatVersion)
            throws IOException {
        try (ImageSource source = ImageSources.open(reference, registry)) {
            return importImage(source, platform, refName, progress, formatVersion);
        }
    }

    /**
     * Imports from an already opened source; see {@link #pull}. Imports through one importer run one
     * at a time (they share its body pipeline); use several importers for parallel pulls.
     */
    public Result importImage(
            ImageSource source, Platform platform, String refName, ImportProgress progress)
            throws IOException {
        return importImage(source, platform, refName, progress, ErofsFormat.DEFAULT_FORMAT_VERSION);
    }

    /** {@link #importImage(ImageSource, Platform, String, ImportProgress)} writing composefs format {@code formatVersion}. */
    public synchronized Result importImage(
            ImageSource source,
            Platform platform,
            String refName,
            ImportProgress progress,
            int formatVersion)
            throws IOException {
        ErofsWriter.WriteOptions options = ErofsWriter.WriteOptions.pinned(formatVersion);
        ImportProgress listener = progress != null ? progress : ImportProgress.NONE;
        try (Store.Lease lease = store.lease("import " + source.describe());
                ObjectDirectory.Batch batch = store.objects().batch()) {
            ImageManifest manifest = source.resolve(platform);
            listener.resolved(source.describe(), manifest);
            Optional<Digest> stored =
                    store.manifests().lookup(manifest.digest(), formatVersion, store);
            if (stored.isPresent()) {
                return alreadyStored(manifest, stored.get(), refName, listener);
            }
            BodySink sink = (body, size) -> batch.addStream(body);
            long[] fileBytes = new long[1];
            ImportProgress.LayerPull[] pulls =
                    new ImportProgress.LayerPull[manifest.layers().size()];
            Directory root =
                    ImageTrees.build(
                            source,
                            manifest,
                            sink,
                            pipeline,
                            new ImportProgress() {
                                @Override
                                public void layerPulled(
                                        int index, Descriptor layer, LayerPull how) {
                                    pulls[index] = how;
                                    listener.layerPulled(index, layer, how);
                                }

                                @Override
                                public void layerBytes(
                                        int index, Descriptor layer, long compressedBytesSoFar) {
                                    listener.layerBytes(index, layer, compressedBytesSoFar);
                                }

                                @Override
                                public void layerDone(
                                        int index, int total, Descriptor layer, long bodies) {
                                    fileBytes[0] = bodies;
                                    listener.layerDone(index, total, layer, bodies);
                                }
                            },
                            partialPulls());
            // every layer was read to its end and matched its digest: now objects may become
            // visible
            ObjectDirectory.Committed committed = batch.commit();
            Digest image = writeImage(store, root, options);
            store.manifests().put(manifest.digest(), formatVersion, image);
            if (refName != null) {
                store.setRef(refName, image);
            }
            long layerBytes = manifest.layers().stream().mapToLong(Descriptor::size).sum();
            long fetched =
                    java.util.Arrays.stream(pulls)
                            .mapToLong(ImportProgress.LayerPull::bytesFetched)
                            .sum();
            return new Result(
                    image,
                    manifest.digest(),
                    refName,
                    manifest.layers().size(),
                    layerBytes,
                    fileBytes[0],
                    committed.added(),
                    committed.alreadyPresent(),
                    fetched,
                    java.util.Arrays.asList(pulls));
        }
    }

    /**
     * The image this manifest was imported as is still stored with all its objects: nothing but the
     * manifest was fetched. The ref is set as for any pull.
     */
    private Result alreadyStored(
            ImageManifest manifest, Digest image, String refName, ImportProgress listener)
            throws IOException {
        ObjectList objects = store.objectList(image).orElse(ObjectList.of(Set.of(), 0));
        List<ImportProgress.LayerPull> pulls = new ArrayList<>();
        for (int i = 0; i < manifest.layers().size(); i++) {
            Descriptor layer = manifest.layers().get(i);
            ImportProgress.LayerPull how = ImportProgress.LayerPull.alreadyStored(layer.size());
            pulls.add(how);
            listener.layerPulled(i, layer, how);
        }
        if (refName != null) {
            store.setRef(refName, image);
        }
        return new Result(
                image,
                manifest.digest(),
                refName,
                manifest.layers().size(),
                manifest.layers().stream().mapToLong(Descriptor::size).sum(),
                objects.logicalBytes(),
                0,
                objects.digests().size(),
                0,
                pulls);
    }

    /**
     * Stored objects found by the sha256 a zstd:chunked table of contents gives for a file. The
     * import's lease keeps GC away until the image that uses them is written.
     */
    private ImageTrees.PartialPulls partialPulls() {
        ObjectDirectory objects = store.objects();
        if (!partialPulls || objects.index() == null) {
            return null;
        }
        return new ImageTrees.PartialPulls(
                (sha256, size) -> {
                    Digest d = objects.index().lookup(sha256, objects).orElse(null);
                    try {
                        return d != null && java.nio.file.Files.size(objects.path(d)) == size
                                ? d
                                : null;
                    } catch (IOException e) {
                        return null; // collected meanwhile: fetch it
                    }
                },
                objects::path,
                RANGE_REQUESTS_IN_FLIGHT);
    }

    /**
     * Streams the EROFS image straight into the store (no temporary copy of our own). A writer that
     * rejects the tree ends the store's read at once (and the other way round), so a failed image
     * never keeps the store's locks.
     */
    static Digest writeImage(Store store, Directory root, ErofsWriter.WriteOptions options)
            throws IOException {
        ObjectList objects = objectList(root);
        return Handoff.run(
                "kcfs-image-writer",
                1 << 20,
                out -> {
                    try {
                        ErofsWriter.write(root, options, out);
                    } catch (ErofsException e) {
                        throw new OciException(
                                "cannot write the composefs image: " + e.getMessage(), e);
                    }
                },
                in -> store.addImage(in, objects));
    }

    /** The objects the image refers to, and its logical size (each external file once, hardlinks once). */
    static ObjectList objectList(Directory root) {
        Set<Digest> digests = new TreeSet<>();
        Set<Inode> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long[] logical = new long[1];
        walk(root, digests, seen, logical);
        return ObjectList.of(digests, logical[0]);
    }

    private static void walk(Directory dir, Set<Digest> digests, Set<Inode> seen, long[] logical) {
        for (Inode i : dir.children().values()) {
            if (i instanceof Directory d) {
                walk(d, digests, seen, logical);
            } else if (i instanceof RegularFile f && f.isExternal() && seen.add(f)) {
                digests.add(f.digest());
                logical[0] += f.size();
            }
        }
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
