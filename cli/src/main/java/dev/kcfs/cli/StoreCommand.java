package dev.kcfs.cli;

import dev.kcfs.image.erofs.ErofsFormat;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.StoreMounter;
import dev.kcfs.scan.DirectoryImport;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kcfs store gc|fsck|stats|refs}: maintenance of a node store. */
@Command(
        name = "store",
        description = "Maintain a node store.",
        subcommands = {
            StoreCommand.Add.class,
            StoreCommand.Gc.class,
            StoreCommand.Fsck.class,
            StoreCommand.Stats.class,
            StoreCommand.Refs.class
        })
final class StoreCommand implements Runnable {
    @ParentCommand Kcfs kcfs;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Option(
            names = "--store",
            paramLabel = "DIR",
            description = "Node store (default: $KCFS_STORE or " + StoreOption.DEFAULT + ").")
    Path dir;

    /** The existing store named before the subcommand ({@code kcfs store --store D gc}) or after it. */
    Store open(StoreOption option) throws dev.kcfs.store.StoreException {
        return StoreOption.existing(dir(option));
    }

    Path dir(StoreOption option) {
        return dir != null ? dir : option.dir;
    }

    @Override
    public void run() {
        throw new CommandException(
                "Missing store command: add, gc, fsck, stats or refs (see kcfs store --help)");
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String units = "KMGTPE";
        int u = -1;
        double v = n;
        while (v >= 1024 && u < units.length() - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %siB", v, units.charAt(u));
    }

    @Command(
            name = "add",
            sortOptions = false,
            description =
                    "Build a composefs image from a directory into the store (bodies into objects/, image under its digest, optional ref); prints the image digest.")
    static final class Add implements Callable<Integer> {
        @ParentCommand StoreCommand parent;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        @Mixin StoreOption store;

        @Option(names = "--name", paramLabel = "NAME", description = "Point this ref at the image.")
        String name;

        @Mixin ScanOptions scan;

        @Option(
                names = "--format-version",
                paramLabel = "N",
                defaultValue = "" + ErofsFormat.DEFAULT_FORMAT_VERSION,
                description =
                        "Image format version, pinned so the digest never changes with the input (default: ${DEFAULT-VALUE}).")
        int version;

        @Parameters(paramLabel = "SOURCE", description = "Directory to import.")
        Path source;

        @Override
        public Integer call() throws Exception {
            if (!ErofsFormat.isSupportedFormatVersion(version)) {
                throw new CommandException(
                        "--format-version must be from "
                                + ErofsFormat.MIN_FORMAT_VERSION
                                + " to "
                                + ErofsFormat.MAX_FORMAT_VERSION
                                + ", got "
                                + version);
            }
            if (name != null) {
                String problem = Store.refNameProblem(name);
                if (problem != null) {
                    throw new CommandException("--name: " + problem);
                }
            }
            if (scan.problem() != null) {
                throw new CommandException(scan.problem());
            }
            if (!java.nio.file.Files.isDirectory(source)) {
                throw new CommandException(
                        source
                                + ": "
                                + (java.nio.file.Files.exists(source)
                                        ? "not a directory"
                                        : "no such directory"));
            }
            Store target = StoreOption.forAdding(parent.dir(store), parent.kcfs.err(), "store add");
            DirectoryImport.Result r =
                    DirectoryImport.run(
                            target,
                            source,
                            name,
                            scan.toOptions(),
                            ErofsWriter.WriteOptions.pinned(version));
            parent.kcfs
                    .err()
                    .printf(
                            "kcfs store add: %s: %d entries, %d new objects, %d already stored%n",
                            source, r.entries(), r.objectsAdded(), r.objectsPresent());
            parent.kcfs.out().println(r.imageDigest().hex());
            return 0;
        }
    }

    @Command(
            name = "gc",
            description = "Remove images no ref or mount keeps, then objects no kept image uses.")
    static final class Gc implements Callable<Integer> {
        @ParentCommand StoreCommand parent;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        @Mixin StoreOption store;

        @Option(
                names = {"-n", "--dry-run"},
                description = "Only say what would be removed.")
        boolean dryRun;

        @Option(
                names = "--wait",
                paramLabel = "SECONDS",
                defaultValue = "30",
                description =
                        "How long to wait for imports in progress (default: ${DEFAULT-VALUE}).")
        long waitSeconds;

        @Override
        public Integer call() throws Exception {
            Store s = parent.open(store);
            // mount records of images nobody uses any more (or from before a reboot) would keep
            // them alive:
            // a real run releases them, a dry run counts them as released, so both report the same
            StoreMounter mounts = new StoreMounter(s, new ComposefsMounter());
            Set<Digest> released = new TreeSet<>(dryRun ? mounts.unused() : mounts.releaseUnused());
            for (Digest d : released) {
                parent.kcfs
                        .err()
                        .println(
                                "kcfs store gc: "
                                        + (dryRun ? "would release" : "released")
                                        + " the unused shared mount (or stale mount record) of image "
                                        + d.hex());
            }
            Store.GcReport r = s.gc(dryRun, Duration.ofSeconds(waitSeconds), released);
            PrintStream out = parent.kcfs.out();
            for (String w : r.warnings()) {
                parent.kcfs.err().println("kcfs store gc: " + w);
            }
            if (!r.ran()) {
                throw new CommandException(
                        "gc did not run: imports or mounts in progress held the store for "
                                + waitSeconds
                                + " s; try again later");
            }
            out.printf(
                    "%d images and %d objects %s (%s), %d images and %d objects kept%n",
                    r.imagesRemoved(),
                    r.objectsRemoved(),
                    dryRun ? "would be removed" : "removed",
                    bytes(r.bytesFreed()),
                    r.imagesKept(),
                    r.objectsKept());
            return 0;
        }
    }

    @Command(
            name = "fsck",
            description = "Verify every object and image against its digest; quarantine bad ones.")
    static final class Fsck implements Callable<Integer> {
        @ParentCommand StoreCommand parent;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        @Mixin StoreOption store;

        @Option(
                names = {"-n", "--dry-run"},
                description = "Report only; move nothing to quarantine.")
        boolean dryRun;

        @Option(
                names = "--threads",
                defaultValue = "0",
                description = "Hashing threads (default: all CPUs).")
        int threads;

        @Override
        public Integer call() throws Exception {
            int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
            Store.FsckReport r = parent.open(store).fsck(dryRun, n);
            PrintStream out = parent.kcfs.out();
            out.printf("checked %d objects and %d images%n", r.objectsChecked(), r.imagesChecked());
            for (Path q : r.quarantined()) {
                out.println((dryRun ? "corrupt: " : "quarantined: ") + q);
            }
            for (Map.Entry<Digest, List<Digest>> e : r.missingObjects().entrySet()) {
                out.println(
                        "image "
                                + e.getKey().hex()
                                + " misses "
                                + e.getValue().size()
                                + " objects, e.g. "
                                + e.getValue().get(0).objectPath());
            }
            for (String p : r.problems()) {
                out.println("problem: " + p);
            }
            if (!r.clean()) {
                parent.kcfs.err().println("kcfs store fsck: the store has problems (listed above)");
                return 1;
            }
            out.println("clean");
            return 0;
        }
    }

    @Command(name = "stats", description = "Objects, bytes on disk, logical bytes and dedup ratio.")
    static final class Stats implements Callable<Integer> {
        @ParentCommand StoreCommand parent;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        @Mixin StoreOption store;

        @Override
        public Integer call() throws Exception {
            Store opened = parent.open(store);
            Store.Stats s = opened.stats();
            // a record whose mount is gone (reboot, namespace gone) is stale: not counted as a
            // mount
            int mounted = new StoreMounter(opened, new ComposefsMounter()).mounted().size();
            int stale = s.mounts() - mounted;
            PrintStream out = parent.kcfs.out();
            out.printf(
                    "objects:        %d (%s, %s on disk)%n",
                    s.objects(), bytes(s.objectBytes()), bytes(s.objectDiskBytes()));
            out.printf("images:         %d (%s)%n", s.images(), bytes(s.imageBytes()));
            out.printf("logical bytes:  %s%n", bytes(s.logicalBytes()));
            out.printf("dedup ratio:    %.2f%n", s.dedupRatio());
            out.printf(
                    "refs:           %d%nmounts:         %d%s%nleases:         %d%n",
                    s.refs(),
                    mounted,
                    stale > 0
                            ? " (" + stale + " stale mount record(s): `kcfs store gc` removes them)"
                            : "",
                    s.leases());
            return 0;
        }
    }

    @Command(
            name = "refs",
            description = {
                "List refs, or change one.",
                "  kcfs store refs                      list NAME DIGEST",
                "  kcfs store refs set NAME DIGEST      point NAME at a stored image",
                "  kcfs store refs rm NAME              drop NAME (gc may then remove the image)"
            })
    static final class Refs implements Callable<Integer> {
        @ParentCommand StoreCommand parent;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        @Mixin StoreOption store;

        @Parameters(arity = "0..3", paramLabel = "ARGS")
        List<String> args = List.of();

        @Override
        public Integer call() throws Exception {
            Store s = parent.open(store);
            Path storeDir = parent.dir(store);
            if (args.isEmpty()) {
                for (Map.Entry<String, Digest> e : s.refs().entrySet()) {
                    // one line per ref whatever the name holds (refs written by older kcfs may have
                    // control characters)
                    parent.kcfs
                            .out()
                            .println(Formats.printable(e.getKey()) + " " + e.getValue().hex());
                }
                return 0;
            }
            String verb = args.get(0);
            if (verb.equals("set") && args.size() == 3) {
                String problem = Store.refNameProblem(args.get(1));
                if (problem != null) {
                    throw new CommandException("ref name: " + problem);
                }
                Digest d = s.resolve(args.get(2));
                if (!s.hasImage(d)) {
                    throw new CommandException(
                            "image " + d.hex() + " is not in the store " + storeDir);
                }
                s.setRef(args.get(1), d);
                return 0;
            }
            if (verb.equals("rm") && args.size() == 2) {
                if (!s.removeRef(args.get(1))) {
                    throw new CommandException(
                            "no ref named '" + args.get(1) + "' in the store " + storeDir);
                }
                return 0;
            }
            throw new CommandException("usage: kcfs store refs [set NAME DIGEST | rm NAME]");
        }
    }
}
