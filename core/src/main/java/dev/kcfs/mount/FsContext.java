package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A filesystem context of the new mount API (fsopen/fsconfig/fsmount/move_mount, Linux 5.2+),
 * which glibc 2.36 does not wrap. Its advantage over mount(2): options are set one by one (no
 * escaping of commas and colons in paths; overlayfs' upper and work dirs still unescape
 * backslashes, see {@link #setOverlayDir}), and the kernel explains failures in the context's
 * log, which {@link #log()} returns for error messages.
 */
final class FsContext implements AutoCloseable {
    // the same numbers on every architecture (syscalls >= 424 are unified)
    static final long SYS_MOVE_MOUNT = 429;
    static final long SYS_FSOPEN = 430;
    static final long SYS_FSCONFIG = 431;
    static final long SYS_FSMOUNT = 432;
    static final int FSOPEN_CLOEXEC = 1;
    static final int FSCONFIG_SET_FLAG = 0;
    static final int FSCONFIG_SET_STRING = 1;
    static final int FSCONFIG_CMD_CREATE = 6;
    static final int FSMOUNT_CLOEXEC = 1;
    static final int MOUNT_ATTR_RDONLY = 1;
    static final int MOUNT_ATTR_NOSUID = 2;
    static final int MOUNT_ATTR_NODEV = 4;
    static final int MOVE_MOUNT_F_EMPTY_PATH = 4;
    static final int MOVE_MOUNT_T_EMPTY_PATH = 0x40;
    static final long SYS_OPEN_TREE = 428;
    static final long SYS_MOUNT_SETATTR = 442;
    static final int OPEN_TREE_CLONE = 1;
    static final int AT_EMPTY_PATH = 0x1000;

    private final String fsType;
    private int fd;

    private FsContext(String fsType, int fd) {
        this.fsType = fsType;
        this.fd = fd;
    }

    /** Throws LastErrorException (ENOSYS on kernels without the new API, ENODEV without the filesystem). */
    static FsContext open(String fsType) {
        int fd = syscall(SYS_FSOPEN, fsType, FSOPEN_CLOEXEC);
        return new FsContext(fsType, fd);
    }

    void setString(String key, String value) {
        syscall(SYS_FSCONFIG, fd, FSCONFIG_SET_STRING, key, value, 0);
    }

    /**
     * Sets overlayfs' {@code upperdir} or {@code workdir}. Through fsconfig, overlayfs still strips one
     * level of backslash escaping from these two (a backslash escapes the next character), whereas
     * {@code lowerdir+} and {@code datadir+} take their path as it is; commas and colons need nothing
     * on either. So this doubles the backslashes, and the directory named is the one meant (checked
     * on Linux 6.18 with a directory named {@code up\per,a:b}).
     */
    void setOverlayDir(String key, Path dir) {
        setString(key, dir.toString().replace("\\", "\\\\"));
    }

    void setFlag(String key) {
        syscall(SYS_FSCONFIG, fd, FSCONFIG_SET_FLAG, key, null, 0);
    }

    void create() {
        syscall(SYS_FSCONFIG, fd, FSCONFIG_CMD_CREATE, null, null, 0);
    }

    /** A detached mount of the created superblock; returns its fd. */
    int mount(int attributes) {
        return syscall(SYS_FSMOUNT, fd, FSMOUNT_CLOEXEC, attributes);
    }

    /** Attaches a detached mount at {@code target}. */
    static void moveMount(int mountFd, Path target) {
        syscall(
                SYS_MOVE_MOUNT,
                mountFd,
                "",
                LibC.AT_FDCWD,
                target.toString(),
                MOVE_MOUNT_F_EMPTY_PATH);
    }

    /** Attaches a detached mount onto the directory open as {@code targetFd} (O_PATH is enough). */
    static void moveMount(int mountFd, int targetFd) {
        syscall(
                SYS_MOVE_MOUNT,
                mountFd,
                "",
                targetFd,
                "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    }

    /** A detached copy of the mount at {@code source} (a bind not yet attached anywhere); returns its fd. */
    static int openTreeClone(Path source) {
        return syscall(
                SYS_OPEN_TREE, LibC.AT_FDCWD, source.toString(), OPEN_TREE_CLONE | LibC.O_CLOEXEC);
    }

    /** Sets mount attributes ({@code MOUNT_ATTR_*}) on a detached mount. */
    static void setAttributes(int mountFd, long attributes) {
        try (Memory attr =
                new Memory(32)) { // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
            attr.clear();
            attr.setLong(0, attributes);
            syscall(SYS_MOUNT_SETATTR, mountFd, "", AT_EMPTY_PATH, attr, new NativeLong(32));
        }
    }

    /** The kernel's messages about this context so far ("e overlayfs: …"), joined; empty if none. */
    String log() {
        List<String> lines = new ArrayList<>();
        byte[] buf = new byte[1024];
        while (fd >= 0) {
            long n;
            try {
                n = LibC.INSTANCE.read(fd, buf, new NativeLong(buf.length)).longValue();
            } catch (LastErrorException e) {
                break; // ENODATA: no more messages
            }
            if (n <= 0) {
                break;
            }
            lines.add(new String(buf, 0, (int) n, StandardCharsets.UTF_8).trim());
        }
        return String.join("; ", lines);
    }

    /** "what: strerror (errno N) [kernel: log]". */
    String describe(String what, LastErrorException e) {
        String log = log();
        return Errno.describe(what, e)
                + (log.isEmpty() ? "" : " [kernel " + fsType + ": " + log + "]");
    }

    @Override
    public void close() {
        if (fd >= 0) {
            LibC.INSTANCE.close(fd);
            fd = -1;
        }
    }

    private static int syscall(long number, Object... args) {
        return LibC.INSTANCE.syscall(new NativeLong(number), args).intValue();
    }
}
