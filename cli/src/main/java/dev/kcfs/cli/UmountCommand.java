package dev.kcfs.cli;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.MountTable;
import dev.kcfs.mount.StoreMounter;
import dev.kcfs.verity.Digest;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code kcfs umount TARGET}: unmounts; when TARGET showed an image of a node store (found from the
 * mount table, or given with {@code --store}), also releases the store's shared mounts nobody uses
 * any more, and says what stays.
 */
@Command(
        name = "umount",
        description = "Unmount a composefs mount (and release unused shared mounts of its store).")
final class UmountCommand implements Callable<Integer> {
    @ParentCommand Kcfs kcfs;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Option(
            names = {"-l", "--lazy"},
            description = "Detach now, clean up when no longer busy (MNT_DETACH).")
    boolean lazy;

    @Option(
            names = "--store",
            paramLabel = "DIR",
            description =
                    "Node store whose unused shared mounts to release afterwards (default: the store TARGET was mounted from).")
    Path store;

    @Parameters(paramLabel = "TARGET", description = "Mount point.")
    Path target;

    @Override
    public Integer call() throws Exception {
        Path abs = target.toAbsolutePath().normalize();
        Optional<Path> shared = StoreMounter.sharedMountBehind(abs);
        Path dir = store != null ? store : shared.flatMap(StoreMounter::storeOf).orElse(null);
        ComposefsMounter mounter = new ComposefsMounter();
        mounter.unmount(target, lazy);
        if (dir == null) {
            shared.ifPresent(
                    s ->
                            kcfs.err()
                                    .println(
                                            "kcfs umount: "
                                                    + target
                                                    + " showed the shared mount "
                                                    + s
                                                    + ", which is not in a kcfs store; it stays mounted (unmount it yourself when unused)"));
            return 0;
        }
        StoreMounter mounts = new StoreMounter(StoreOption.existing(dir), mounter);
        List<Digest> released = mounts.releaseUnused();
        for (Digest d : released) {
            kcfs.err().println("kcfs umount: released the shared mount of image " + d.hex());
        }
        if (shared.isPresent() && MountTable.read().isMountPoint(shared.get())) {
            kcfs.err()
                    .println(
                            "kcfs umount: the shared mount "
                                    + shared.get()
                                    + " stays: "
                                    + MountTable.read().usersOf(shared.get()).size()
                                    + " other mount(s) use it");
        }
        return 0;
    }
}
