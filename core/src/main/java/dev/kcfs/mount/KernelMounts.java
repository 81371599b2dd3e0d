package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The mounts that put images in front of users: read-only binds of a shared mount, per-volume
 * writable overlays, unmounts. Everything they make is {@code nosuid,nodev}: the image's setuid
 * bits and device nodes still show in {@code stat}, but never take effect. Mounts are made with the
 * new mount API (open_tree/fsopen, mount_setattr, move_mount) onto an opened {@link TargetDir}, so
 * the attributes are set before the mount becomes visible and the target cannot change under us.
 */
public final class KernelMounts {
    private final LibC libc = LibC.INSTANCE;

    /** Bind-mounts {@code source} read-only, nosuid, nodev onto the user-given directory {@code target}. */
    public void bindReadOnly(Path source, Path target) throws IOException {
        int fd;
        try {
            fd = libc.open(target.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new MountException(Errno.describe("cannot open mount target " + target, e));
        }
        try {
            bindReadOnly(source, fd, target.toString());
        } finally {
            libc.close(fd);
        }
    }

    /** Bind-mounts {@code source} read-only, nosuid, nodev onto the opened {@code target}. */
    public void bindReadOnly(Path source, TargetDir target) throws IOException {
        bindReadOnly(source, target.fd(), target.path().toString());
    }

    private void bindReadOnly(Path source, int targetFd, String target) throws IOException {
        int tree;
        try {
            tree = FsContext.openTreeClone(source);
        } catch (LastErrorException e) {
            throw new MountException(Errno.describe("cannot bind " + source + " (open_tree)", e));
        }
        try {
            try {
                FsContext.setAttributes(
                        tree,
                        FsContext.MOUNT_ATTR_RDONLY
                                | FsContext.MOUNT_ATTR_NOSUID
                                | FsContext.MOUNT_ATTR_NODEV);
            } catch (LastErrorException e) {
                throw new MountException(
                        Errno.describe(
                                "cannot make the bind of " + source + " read-only, nosuid, nodev",
                                e));
            }
            attach(tree, targetFd, "bind " + source + " onto " + target);
        } finally {
            libc.close(tree);
        }
    }

    /**
     * A writable overlay on the opened {@code target}: {@code lower} read-only below, writes into
     * {@code upper} (discarded by the caller at unpublish). Options are passed one by one through
     * the new mount API: the lower path goes as it is, the upper and work dirs through
     * {@link FsContext#setOverlayDir}.
     */
    public void overlay(Path lower, Path upper, Path work, TargetDir target) throws IOException {
        String what = "mount a writable overlay over " + lower + " at " + target.path();
        try (FsContext ctx = FsContext.open("overlay")) {
            int mfd;
            try {
                ctx.setString("source", "overlay");
                ctx.setString("lowerdir+", lower.toString());
                ctx.setOverlayDir("upperdir", upper);
                ctx.setOverlayDir("workdir", work);
                ctx.create();
                mfd = ctx.mount(FsContext.MOUNT_ATTR_NOSUID | FsContext.MOUNT_ATTR_NODEV);
            } catch (LastErrorException e) {
                throw new MountException(ctx.describe("cannot " + what, e));
            }
            try {
                attach(mfd, target.fd(), what);
            } finally {
                libc.close(mfd);
            }
        } catch (LastErrorException e) {
            throw new MountException(Errno.describe("cannot " + what + " (fsopen)", e));
        }
    }

    private static void attach(int mountFd, int targetFd, String what) throws MountException {
        try {
            FsContext.moveMount(mountFd, targetFd);
        } catch (LastErrorException e) {
            throw new MountException(Errno.describe("cannot " + what + " (move_mount)", e));
        }
    }

    /**
     * Unmounts the topmost mount on the opened {@code target}, reached through its opened parent
     * (never through a symlink); returns false when nothing was mounted there.
     */
    public boolean unmount(TargetDir target) throws IOException {
        try {
            libc.umount2(target.viaParent(), LibC.UMOUNT_NOFOLLOW);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINVAL || e.getErrorCode() == Errno.ENOENT) {
                return false;
            }
            throw new MountException(Errno.describe("cannot unmount " + target.path(), e));
        }
    }

    /** Unmounts {@code target} (not following a symlink there); returns false when nothing was mounted there. */
    public boolean unmount(Path target) throws IOException {
        try {
            libc.umount2(target.toString(), LibC.UMOUNT_NOFOLLOW);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINVAL || e.getErrorCode() == Errno.ENOENT) {
                return false;
            }
            throw new MountException(Errno.describe("cannot unmount " + target, e));
        }
    }

    /** Detaches {@code target} even if it is busy: used for a shared mount once nothing uses it. */
    public void detach(Path target) throws IOException {
        try {
            libc.umount2(target.toString(), LibC.MNT_DETACH | LibC.UMOUNT_NOFOLLOW);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != Errno.EINVAL && e.getErrorCode() != Errno.ENOENT) {
                throw new MountException(Errno.describe("cannot detach " + target, e));
            }
        }
    }
}
