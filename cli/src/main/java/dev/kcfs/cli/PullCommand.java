package dev.kcfs.cli;

import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.sources.ImageSources;
import dev.kcfs.pull.ImportProgress;
import dev.kcfs.pull.Importer;
import dev.kcfs.store.Store;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code kcfs pull REFERENCE}: imports an OCI image (registry, {@code oci:DIR[:TAG]} layout or
 * {@code oci-archive:FILE[:TAG]}) into a node store and prints the composefs image digest.
 * Progress goes to stderr on a terminal; otherwise the command is quiet but for the digest.
 */
@Command(
        name = "pull",
        sortOptions = false,
        description = {
            "Import an OCI image into a node store; prints the composefs image digest.",
            "  REFERENCE: registry/repo[:tag|@sha256:…], oci:DIR[:TAG] or oci-archive:FILE[:TAG]"
        })
final class PullCommand implements Callable<Integer> {
    @ParentCommand Kcfs kcfs;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Mixin StoreOption store;

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description =
                    "Ref to point at the image (default: the reference without its registry digest).")
    String name;

    @Option(
            names = "--platform",
            paramLabel = "OS/ARCH[/VARIANT]",
            description = "Platform to pick from an index (default: this machine's).")
    String platform;

    @Option(
            names = "--authfile",
            paramLabel = "FILE",
            description = "Docker config JSON or .dockerconfigjson with registry credentials.")
    Path authfile;

    @Option(
            names = "--plain-http",
            description =
                    "Talk plain HTTP to the registry, which is not on loopback (loopback registries always are).")
    boolean plainHttp;

    @Option(
            names = "--partial",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description =
                    "Pull zstd:chunked layers partially: fetch only the files the store lacks (default: on; --no-partial streams every layer whole).")
    boolean partial;

    @Option(
            names = "--progress",
            negatable = true,
            description = "Show progress on stderr (default: when stderr is a terminal).")
    Boolean progress;

    @Parameters(paramLabel = "REFERENCE", description = "What to pull.")
    String reference;

    @Override
    public Integer call() throws Exception {
        Platform wanted;
        try {
            wanted = platform != null ? Platform.parse(platform) : Platform.current();
        } catch (IllegalArgumentException e) {
            throw new CommandException("--platform " + platform + ": " + e.getMessage());
        }
        DockerConfig credentials =
                authfile != null ? DockerConfig.read(authfile) : DockerConfig.empty();
        RegistryClient client =
                new RegistryClient(
                        credentials, RegistryClient.Options.defaults().withPlainHttp(plainHttp));
        String ref = name != null ? name : ImageSources.defaultRefName(reference);
        String problem = Store.refNameProblem(ref);
        if (problem != null) {
            // before the download: a name that cannot be stored should not cost a whole pull
            throw new CommandException(
                    (name != null ? "--name: " : "the ref name from " + reference + ": ")
                            + problem
                            + (name != null ? "" : "; give a shorter one with --name"));
        }
        boolean show = progress != null ? progress : System.console() != null;
        try (Importer importer =
                new Importer(
                        StoreOption.forAdding(store.dir, kcfs.err(), "pull"),
                        client,
                        dev.kcfs.pull.layer.BodyPipeline.forThisMachine(),
                        partial)) {
            long start = System.nanoTime();
            Importer.Result r =
                    importer.pull(
                            reference,
                            wanted,
                            ref,
                            show ? new Progress(kcfs.err(), start) : ImportProgress.NONE);
            if (show) {
                double s = (System.nanoTime() - start) / 1e9;
                kcfs.err()
                        .printf(
                                "\r%s: %d layers, %s of files (%.0f MB/s), %d new objects, %d already stored; ref %s%n",
                                reference,
                                r.layers(),
                                StoreCommand.bytes(r.fileBytes()),
                                r.fileBytes() / 1e6 / Math.max(s, 1e-3),
                                r.objectsAdded(),
                                r.objectsPresent(),
                                ref);
                kcfs.err()
                        .printf(
                                r.storedLayers() == r.layers() && r.layers() > 0
                                        ? "%s fetched of %s of layers (image already stored)%n"
                                        : "%s fetched of %s of layers (%d of %d layers partially)%n",
                                StoreCommand.bytes(r.bytesFetched()),
                                StoreCommand.bytes(r.layerBytes()),
                                r.partialLayers(),
                                r.layers());
            }
            kcfs.out().println(r.imageDigest().hex());
        }
        return 0;
    }

    /** One self-overwriting status line on stderr: layer i/n, compressed bytes read, speed. */
    private static final class Progress implements ImportProgress {
        private final PrintStream err;
        private final long start;
        private int layers;
        private long doneCompressed;

        Progress(PrintStream err, long start) {
            this.err = err;
            this.start = start;
        }

        @Override
        public void resolved(String source, ImageManifest manifest) {
            layers = manifest.layers().size();
            long total = manifest.layers().stream().mapToLong(Descriptor::size).sum();
            err.printf(
                    "%s: manifest %s, %d layers, %s compressed%n",
                    source, manifest.digest(), layers, StoreCommand.bytes(total));
        }

        @Override
        public void layerBytes(int index, Descriptor layer, long soFar) {
            double s = Math.max((System.nanoTime() - start) / 1e9, 1e-3);
            err.printf(
                    "\rlayer %d/%d: %s of %s (%.0f MB/s)   ",
                    index + 1,
                    layers,
                    StoreCommand.bytes(soFar),
                    StoreCommand.bytes(layer.size()),
                    (doneCompressed + soFar) / 1e6 / s);
        }

        @Override
        public void layerPulled(int index, Descriptor layer, LayerPull how) {
            err.printf("\rlayer %d/%d: %s%n", index + 1, layers, how.describe());
        }

        @Override
        public void layerDone(int index, int total, Descriptor layer, long fileBytesSoFar) {
            doneCompressed += layer.size();
            err.printf(
                    "\rlayer %d/%d done: %s                    %n",
                    index + 1, total, layer.digest());
        }
    }
}
