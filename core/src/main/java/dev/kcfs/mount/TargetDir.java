package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A directory below a trusted root (the kubelet directory), opened once with {@code O_PATH} by
 * walking its path one component at a time with {@code openat2(RESOLVE_NO_SYMLINKS |
 * RESOLVE_BENEATH)}, creating missing components relative to their opened parent. Mounts go onto
 * the opened directory and unmounts through its opened parent, so what was checked is what is
 * acted on: a component swapped for a symlink meanwhile fails the walk instead of redirecting the
 * mount out of the root.
 */
public final class TargetDir implements AutoCloseable {
    private static final long SYS_OPENAT2 =
            437; // the same on every architecture (>= 424 are unified)
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_NO_SYMLINKS = 0x04;
    private static final long RESOLVE_BENEATH = 0x08;
    private static final int O_FLAGS =
            LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC;

    private final Path path;
    private final String leaf;
    private final boolean created;
    private int parentFd;
    private int fd;

    private TargetDir(Path path, String leaf, int parentFd, int fd, boolean created) {
        this.path = path;
        this.leaf = leaf;
        this.parentFd = parentFd;
        this.fd = fd;
        this.created = created;
    }

    /**
     * Opens {@code target}, which must lie strictly below {@code root}; with {@code create},
     * missing directories are made (mode 0750). Fails with {@link MountException.Kind#REFUSED} when a
     * component is a symlink or not a directory, with ENOENT's message when it is missing.
     */
    public static TargetDir open(Path root, Path target, boolean create) throws IOException {
        return open(root, target, create, true);
    }

    /**
     * Opens only the parent of {@code target} (same walk, nothing created), to unmount or remove
     * {@code target} through it: an fd inside a mount would keep it busy.
     */
    public static TargetDir parentOf(Path root, Path target) throws IOException {
        return open(root, target, false, false);
    }

    private static TargetDir open(Path root, Path target, boolean create, boolean leafToo)
            throws IOException {
        Path rel = root.relativize(target);
        if (rel.toString().isEmpty()
                || rel.startsWith("..")
                || !target.normalize().equals(target)) {
            throw new MountException(
                    MountException.Kind.REFUSED, target + " is not a path below " + root);
        }
        List<String> names = new ArrayList<>();
        rel.forEach(p -> names.add(p.toString()));
        String leaf = names.get(names.size() - 1);
        if (!leafToo) {
            names.remove(names.size() - 1);
        }
        int cur;
        try {
            cur =
                    LibC.INSTANCE.open(
                            root.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new MountException(Errno.describe("cannot open " + root, e));
        }
        int parent = -1;
        boolean created = false;
        try {
            for (String name : names) {
                created = false;
                int next;
                try {
                    next = openBeneath(cur, name);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != Errno.ENOENT || !create) {
                        throw refusal(target, name, e);
                    }
                    try {
                        LibC.INSTANCE.mkdirat(cur, name, 0750);
                        created = true;
                    } catch (LastErrorException mk) {
                        if (mk.getErrorCode() != Errno.EEXIST) {
                            throw new MountException(
                                    Errno.describe(
                                            "cannot create "
                                                    + name
                                                    + " in the directory of "
                                                    + target,
                                            mk));
                        }
                    }
                    try {
                        next = openBeneath(cur, name);
                    } catch (LastErrorException again) {
                        throw refusal(target, name, again);
                    }
                }
                if (parent >= 0) {
                    LibC.INSTANCE.close(parent);
                }
                parent = cur;
                cur = next;
            }
            TargetDir t =
                    leafToo
                            ? new TargetDir(target, leaf, parent, cur, created)
                            : new TargetDir(target, leaf, cur, -1, false);
            parent = -1;
            cur = -1;
            return t;
        } finally {
            if (parent >= 0) {
                LibC.INSTANCE.close(parent);
            }
            if (cur >= 0) {
                LibC.INSTANCE.close(cur);
            }
        }
    }

    private static MountException refusal(Path target, String name, LastErrorException e) {
        switch (e.getErrorCode()) {
            case Errno.ELOOP:
                return new MountException(
                        MountException.Kind.REFUSED,
                        target
                                + ": '"
                                + name
                                + "' is a symbolic link (or was swapped for one); refusing to follow it");
            case Errno.ENOTDIR:
                return new MountException(
                        MountException.Kind.REFUSED,
                        target
                                + ": '"
                                + name
                                + "' is not a directory (a symbolic link, or was swapped for one, or a file); refusing to use it");
            case Errno.EXDEV:
                return new MountException(
                        MountException.Kind.REFUSED,
                        target + ": '" + name + "' leads out of the directory it must stay in");
            default:
                return new MountException(
                        Errno.describe("cannot open " + target + " (at '" + name + "')", e));
        }
    }

    /** openat2(dirFd, name, O_PATH|O_DIRECTORY|O_NOFOLLOW, RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS). */
    private static int openBeneath(int dirFd, String name) {
        try (Memory how = new Memory(24)) {
            how.setLong(0, O_FLAGS);
            how.setLong(8, 0);
            how.setLong(16, RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
            return LibC.INSTANCE
                    .syscall(new NativeLong(SYS_OPENAT2), dirFd, name, how, new NativeLong(24))
                    .intValue();
        }
    }

    public Path path() {
        return path;
    }

    /** Whether {@link #open} created the directory itself (then a failed publish removes it again). */
    public boolean created() {
        return created;
    }

    /** The O_PATH descriptor of the directory, as it was when opened (mounts go on top of it). */
    int fd() {
        if (fd < 0) {
            throw new IllegalStateException("only the parent of " + path + " was opened");
        }
        return fd;
    }

    /** The target reached through its opened parent, not following a symlink in the last component. */
    String viaParent() {
        return "/proc/self/fd/" + parentFd + "/" + leaf;
    }

    /**
     * The id of the mount now on top of the directory (as in mountinfo's first field), read by
     * opening it again through the opened parent; 0 if that fails.
     */
    public int mountId() {
        int top;
        try {
            top = openBeneath(parentFd, leaf);
        } catch (LastErrorException e) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + top))) {
                if (line.startsWith("mnt_id:")) {
                    return Integer.parseInt(line.substring(7).trim());
                }
            }
            return 0;
        } catch (IOException | NumberFormatException e) {
            return 0;
        } finally {
            LibC.INSTANCE.close(top);
        }
    }

    /** Removes the directory if it is empty (a failed publish's target), through the opened parent. */
    public void removeIfEmpty() {
        try {
            LibC.INSTANCE.unlinkat(parentFd, leaf, LibC.AT_REMOVEDIR);
        } catch (LastErrorException e) {
            // not empty, mounted, or gone: leave it
        }
    }

    @Override
    public void close() {
        if (fd >= 0) {
            LibC.INSTANCE.close(fd);
            fd = -1;
        }
        if (parentFd >= 0) {
            LibC.INSTANCE.close(parentFd);
            parentFd = -1;
        }
    }
}
