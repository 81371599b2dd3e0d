package dev.kcfs.cli;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.StoreMounter;
import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kcfs umount TARGET}: unmounts; with a store, also drops shared mounts nobody uses any more. */
@Command(name = "umount", description = "Unmount a composefs mount (and release unused shared mounts of the store).")
final class UmountCommand implements Callable<Integer> {
    @ParentCommand
    Kcfs kcfs;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = {"-l", "--lazy"}, description = "Detach now, clean up when no longer busy (MNT_DETACH).")
    boolean lazy;

    @Option(names = "--store", paramLabel = "DIR",
            description = "Node store whose unused shared mounts to release afterwards (default: $KCFS_STORE or /var/lib/kcfs, if it exists).")
    Path store;

    @Parameters(paramLabel = "TARGET", description = "Mount point.")
    Path target;

    @Override
    public Integer call() throws Exception {
        ComposefsMounter mounter = new ComposefsMounter();
        mounter.unmount(target, lazy);
        Path dir = store != null ? store : Path.of(System.getenv().getOrDefault("KCFS_STORE", StoreOption.DEFAULT));
        if (store != null || Files.isDirectory(dir.resolve("objects"))) {
            // an explicit --store must be one; the default is used only where a store exists
            if (store == null && !Store.exists(dir)) {
                return 0;
            }
            List<Digest> released = new StoreMounter(StoreOption.existing(dir), mounter).releaseUnused();
            for (Digest d : released) {
                kcfs.err().println("kcfs umount: released the shared mount of image " + d.hex());
            }
        }
        return 0;
    }
}
