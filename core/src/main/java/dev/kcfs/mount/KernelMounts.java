package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The mount(2) calls that put images in front of users: read-only binds of a shared mount,
 * per-volume writable overlays, unmounts. Everything they make is {@code nosuid,nodev}: the
 * image's setuid bits and device nodes still show in {@code stat}, but never take effect.
 */
public final class KernelMounts {
    private static final long MS_RDONLY = LibC.MS_RDONLY;
    private static final long MS_NOSUID = LibC.MS_NOSUID;
    private static final long MS_NODEV = LibC.MS_NODEV;
    private static final long MS_REMOUNT = LibC.MS_REMOUNT;
    private static final long MS_BIND = LibC.MS_BIND;
    private static final int MNT_DETACH = LibC.MNT_DETACH;

    private final LibC libc = LibC.INSTANCE;

    /**
     * Bind-mounts {@code source} read-only onto {@code target}. A bind ignores MS_RDONLY on the
     * first call, hence the remount; if that fails the bind is undone so no writable view is left.
     */
    public void bindReadOnly(Path source, Path target) throws IOException {
        mount(source.toString(), target, null, MS_BIND, null, "bind " + source + " onto " + target);
        try {
            mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null,
                    "remount " + target + " read-only");
        } catch (IOException e) {
            unmountQuietly(target);
            throw e;
        }
    }

    /**
     * A writable overlay at {@code target}: {@code lower} read-only below, writes into {@code upper}
     * (discarded by the caller at unpublish). The directory names go into overlay's option string,
     * which cannot quote commas, colons or backslashes, so those are refused.
     */
    public void overlay(Path lower, Path upper, Path work, Path target) throws IOException {
        for (Path p : new Path[] {lower, upper, work}) {
            String s = p.toString();
            if (s.contains(",") || s.contains(":") || s.contains("\\")) {
                throw new IOException("cannot use " + p + " in an overlay mount: the path contains , : or \\");
            }
        }
        mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV,
                "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work,
                "mount a writable overlay over " + lower + " at " + target);
    }

    /** Unmounts {@code target}; returns false when nothing was mounted there. */
    public boolean unmount(Path target) throws IOException {
        try {
            libc.umount2(target.toString(), 0);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINVAL || e.getErrorCode() == Errno.ENOENT) {
                return false;
            }
            throw new IOException(Errno.describe("unmount " + target, e), e);
        }
    }

    /** Detaches {@code target} even if it is busy: used for the shared mount once no volume uses it. */
    public void detach(Path target) throws IOException {
        try {
            libc.umount2(target.toString(), MNT_DETACH);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != Errno.EINVAL && e.getErrorCode() != Errno.ENOENT) {
                throw new IOException(Errno.describe("detach " + target, e), e);
            }
        }
    }

    private void unmountQuietly(Path target) {
        try {
            libc.umount2(target.toString(), MNT_DETACH);
        } catch (LastErrorException ignored) {
            // best effort while already failing
        }
    }

    private void mount(String source, Path target, String fsType, long flags, String data, String what)
            throws IOException {
        try {
            libc.mount(source, target.toString(), fsType, new NativeLong(flags), data);
        } catch (LastErrorException e) {
            throw new IOException(Errno.describe(what, e), e);
        }
    }
}
