package dev.kcfs.cli;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.MountOptions;
import dev.kcfs.mount.Mounted;
import dev.kcfs.mount.StoreMounter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code kcfs mount}: like upstream mount.composefs ({@code -o basedir=…,digest=…,verity,tryverity,
 * upperdir=…,workdir=…,ro,rw IMAGE TARGET}), or from a node store by ref name or digest with
 * {@code --store DIR}.
 */
@Command(
        name = "mount",
        sortOptions = false,
        description = {
            "Mount a composefs image.",
            "  kcfs mount -o basedir=OBJECTS[,digest=HEX,verity|tryverity,upperdir=U,workdir=W,ro|rw] IMAGE TARGET",
            "  kcfs mount --store DIR [-o verity|tryverity] NAME|DIGEST TARGET"
        })
final class MountCommand implements Callable<Integer> {
    @ParentCommand Kcfs kcfs;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Option(
            names = "-o",
            paramLabel = "OPTIONS",
            description = "mount.composefs options, comma separated.")
    String options = "";

    @Option(
            names = "--store",
            paramLabel = "DIR",
            description =
                    "Mount NAME|DIGEST from this node store (shared mount under DIR/mounts, bound read-only onto TARGET).")
    Path store;

    @Parameters(
            index = "0",
            paramLabel = "IMAGE",
            description = "Image file, or with --store a ref name or image digest.")
    String imageArg;

    @Parameters(index = "1", paramLabel = "TARGET", description = "Directory to mount on.")
    Path target;

    @Spec CommandSpec spec;

    /** The -o options, or a usage error (exit 2) saying what is wrong with them. */
    private MountOptions parse(String text) {
        try {
            return MountOptions.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(
                    spec.commandLine(), "-o " + options + ": " + e.getMessage());
        }
    }

    @Override
    public Integer call() throws Exception {
        Mounted mounted;
        if (store != null) {
            MountOptions opts = parse(options.isEmpty() ? "basedir=/" : "basedir=/," + options);
            if (opts.upperdir() != null || opts.digest() != null) {
                throw new CommandException(
                        "with --store only verity and tryverity options apply; "
                                + "the store pins the image digest and store mounts are read-only");
            }
            StoreMounter mounter =
                    new StoreMounter(StoreOption.existing(store), new ComposefsMounter());
            mounted = mounter.mount(imageArg, target, opts.verity());
        } else {
            MountOptions opts = parse(options);
            if (opts.basedirs().isEmpty()) {
                throw new CommandException(
                        "no object directory: give -o basedir=DIR (or use --store DIR NAME)");
            }
            mounted = new ComposefsMounter().mount(Path.of(imageArg), target, opts);
        }
        for (String note : mounted.notes()) {
            kcfs.err().println("kcfs mount: " + note);
        }
        return 0;
    }
}
