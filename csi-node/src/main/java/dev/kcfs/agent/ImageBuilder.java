package dev.kcfs.agent;

import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.kube.PullSecrets;
import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.publish.ExpectedDigests;
import dev.kcfs.pull.ImportProgress;
import dev.kcfs.pull.Importer;
import dev.kcfs.store.ObjectList;
import dev.kcfs.store.Store;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Builds one ComposefsImage into the node store: pull secrets, the pinned image streamed through
 * {@link Importer}, the composefs digest checked against {@code spec.expectedDigest}, then the ref.
 *
 * <p>The import first points a temporary ref ({@link #BUILDING_PREFIX} + name) at the new image, so
 * GC cannot take it between the import's lease and the check; the real ref is set only when the
 * digest is right and the image is still wanted. A temporary ref left by a crash is not a wanted
 * image, so the next GC pass drops it.
 */
final class ImageBuilder {
    static final String BUILDING_PREFIX = "kcfs-agent-building:";

    /** A finished build. */
    record Built(
            Digest digest,
            long files,
            long objects,
            long bytes,
            String manifestDigest,
            long layerBytes,
            long bytesFetched,
            int layers,
            int partialLayers,
            int storedLayers) {
        /**
         * How the layers came, for the log and the node's event: e.g. "fetched 1200000 of
         * 40000000 layer bytes (3.0 %): 2 of 3 layers partially (zstd:chunked), 1 whole".
         */
        String pulled() {
            if (layers > 0 && storedLayers == layers) {
                return String.format(
                        java.util.Locale.ROOT,
                        "fetched 0 of %d layer bytes: the image of this manifest was already stored",
                        layerBytes);
            }
            return String.format(
                    java.util.Locale.ROOT,
                    "fetched %d of %d layer bytes (%.1f %%): %d of %d layers partially (zstd:chunked), %d whole",
                    bytesFetched,
                    layerBytes,
                    layerBytes == 0 ? 100.0 : 100.0 * bytesFetched / layerBytes,
                    partialLayers,
                    layers,
                    layers - partialLayers - storedLayers);
        }
    }

    private final Store store;
    private final PullSecrets secrets;

    /**
     * One client for every build: its connections and watchdog thread are shared, and each build
     * gets a view with its own credentials and token cache ({@link RegistryClient#withCredentials}).
     * Loopback and listed registries are plain HTTP by the client's own rule.
     */
    private final RegistryClient registry;

    ImageBuilder(
            Store store,
            PullSecrets secrets,
            Set<String> plainHttpRegistries,
            Duration stallTimeout) {
        this.store = store;
        this.secrets = secrets;
        this.registry =
                new RegistryClient(
                        DockerConfig.empty(),
                        RegistryClient.Options.defaults()
                                .withPlainHttpRegistries(plainHttpRegistries)
                                .withStallTimeout(stallTimeout));
    }

    /**
     * @param stillWanted asked just before the ref is set: false leaves the image unreferenced (GC takes it)
     */
    Built build(
            String name,
            ComposefsImageSpec spec,
            BuildKey key,
            BooleanSupplier stillWanted,
            ImportProgress progress)
            throws BuildException, InterruptedException {
        ImageReference ref;
        try {
            ref = ImageReference.parse(key.imageRef());
        } catch (IllegalArgumentException e) {
            throw new BuildException(
                    "status.resolvedImage of ComposefsImage "
                            + name
                            + " is not an image reference: "
                            + e.getMessage(),
                    false);
        }
        Platform platform;
        try {
            platform = Platform.parse(key.platform());
        } catch (IllegalArgumentException e) {
            throw new BuildException(
                    "spec.source.platform of ComposefsImage " + name + ": " + e.getMessage(),
                    false);
        }
        DockerConfig credentials;
        try {
            credentials =
                    secrets.load(
                            name,
                            spec.getSource() == null ? null : spec.getSource().getPullSecrets());
        } catch (PullSecrets.PullSecretException e) {
            throw new BuildException(
                    e.getMessage(), true, e); // a secret can be created or fixed later: retry
        }
        RegistryClient client = registry.withCredentials(credentials);
        String temp = BUILDING_PREFIX + name;
        Importer.Result result;
        try (Importer importer = new Importer(store, client);
                ImageSource source = client.open(ref)) {
            result = importer.importImage(source, platform, temp, progress, key.formatVersion());
        } catch (InterruptedIOException e) {
            throw new InterruptedException("build of " + name + " interrupted: " + e.getMessage());
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException(
                        "build of " + name + " interrupted: " + e.getMessage());
            }
            throw new BuildException(
                    "cannot build "
                            + key.imageRef()
                            + " (ComposefsImage "
                            + name
                            + "): "
                            + e.getMessage(),
                    true,
                    e);
        } catch (Exception e) {
            throw new BuildException(
                    "cannot build " + key.imageRef() + " (ComposefsImage " + name + "): " + e,
                    true,
                    e);
        }
        Digest digest = result.imageDigest();
        try {
            Optional<String> wrong =
                    ExpectedDigests.mismatch(name, spec.getExpectedDigest(), digest);
            if (wrong.isPresent()) {
                throw new BuildException(
                        "built "
                                + key.imageRef()
                                + " with format version "
                                + key.formatVersion()
                                + ": "
                                + wrong.get(),
                        false);
            }
            ObjectList objects = store.objectList(digest).orElse(ObjectList.of(Set.of(), 0));
            long files = countFiles(digest);
            if (!stillWanted.getAsBoolean()) {
                throw new InterruptedException(
                        "ComposefsImage " + name + " is no longer wanted on this node");
            }
            store.setRef(name, digest);
            return new Built(
                    digest,
                    files,
                    objects.digests().size(),
                    objects.logicalBytes(),
                    result.manifestDigest(),
                    result.layerBytes(),
                    result.bytesFetched(),
                    result.layers(),
                    result.partialLayers(),
                    result.storedLayers());
        } catch (IOException e) {
            throw new BuildException(
                    "built "
                            + key.imageRef()
                            + " but cannot record it in the node store "
                            + store.root()
                            + ": "
                            + e.getMessage(),
                    true,
                    e);
        } finally {
            try {
                store.removeRef(temp);
            } catch (IOException e) {
                // left for the next GC pass: a temporary ref is never wanted
            }
        }
    }

    /** Regular files in the image (hardlinks once), read back from the image itself. */
    private long countFiles(Digest digest) throws IOException {
        Directory root = ErofsReader.read(store.imagePath(digest)).root();
        Set<Inode> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        return count(root, seen);
    }

    private static long count(Directory dir, Set<Inode> seen) {
        long n = 0;
        for (Inode i : dir.children().values()) {
            if (i instanceof Directory d) {
                n += count(d, seen);
            } else if (i instanceof RegularFile && seen.add(i)) {
                n++;
            }
        }
        return n;
    }
}
