package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The EROFS mount. Preferably it stays detached (an fd from fsmount, handed to overlayfs as
 * {@code /proc/self/fd/N}: nothing ever appears in the mount table and no directory is needed);
 * kernels whose overlayfs wants layers in the mount namespace get it attached at a private
 * directory, which is detached again once the overlay holds it.
 */
final class ErofsLayer {
    private final Path scratch;
    int mountFd = -1;
    Path dir;
    LoopDevice loop;

    /** @param scratch where a private mount point is made when the layer must be attached */
    ErofsLayer(Path scratch) {
        this.scratch = scratch;
    }

    boolean detached() {
        return dir == null;
    }

    String path() {
        return dir != null ? dir.toString() : "/proc/self/fd/" + mountFd;
    }

    void attach(Path image) throws MountException {
        if (dir != null) {
            return;
        }
        Path d = newMountPoint(scratch);
        try {
            FsContext.moveMount(mountFd, d);
        } catch (LastErrorException e) {
            deleteQuietly(d);
            throw new MountException(
                    Errno.describe("cannot attach the EROFS mount of " + image + " at " + d, e));
        }
        dir = d;
        LibC.INSTANCE.close(mountFd);
        mountFd = -1;
    }

    /** Detach (the overlay keeps its own reference), remove the directory, drop the fds (loop autoclear). */
    void release() {
        if (dir != null) {
            try {
                LibC.INSTANCE.umount2(dir.toString(), LibC.MNT_DETACH);
            } catch (LastErrorException e) {
                // never attached (failed legacy mount) or already gone
            }
            deleteQuietly(dir);
            dir = null;
        }
        if (mountFd >= 0) {
            LibC.INSTANCE.close(mountFd);
            mountFd = -1;
        }
        if (loop != null) {
            loop.close();
            loop = null;
        }
    }

    static Path newMountPoint(Path scratch) throws MountException {
        try {
            Files.createDirectories(scratch);
            return Files.createTempDirectory(scratch, ".kcfs-erofs-");
        } catch (IOException e) {
            throw new MountException(
                    "cannot create a temporary mount point in " + scratch + ": " + e.getMessage(),
                    e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // an empty directory in the scratch dir; harmless
        }
    }
}
