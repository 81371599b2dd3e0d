package dev.kcfs.linux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The libc calls kcfs needs that the JDK does not offer (xattrs in every namespace, ioctls,
 * copy_file_range, syncfs, mount syscalls). Written against JNA because no maintained Java
 * library covers them. Every call throws {@link LastErrorException} carrying errno on failure;
 * wrap it with {@link Errno#describe} for messages.
 *
 * <p>Add functions here rather than declaring a second binding elsewhere; calls made once or more
 * per file of a scan or store go in {@link FileCalls} (direct mapping, no proxy).
 */
public interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_RDWR = 2;
    int O_CREAT = 0100;
    int O_EXCL = 0200;
    int O_NOFOLLOW = 0400000;
    int O_DIRECTORY = 0200000;
    int O_CLOEXEC = 02000000;
    int O_PATH = 010000000;

    int open(String path, int flags, int mode) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int fsync(int fd) throws LastErrorException;

    int syncfs(int fd) throws LastErrorException;

    NativeLong lgetxattr(String path, String name, byte[] value, NativeLong size)
            throws LastErrorException;

    NativeLong llistxattr(String path, byte[] list, NativeLong size) throws LastErrorException;

    int lsetxattr(String path, String name, byte[] value, NativeLong size, int flags)
            throws LastErrorException;

    NativeLong fgetxattr(int fd, String name, byte[] value, NativeLong size)
            throws LastErrorException;

    NativeLong flistxattr(int fd, byte[] list, NativeLong size) throws LastErrorException;

    int fsetxattr(int fd, String name, byte[] value, NativeLong size, int flags)
            throws LastErrorException;

    /*
     * Byte-path variants: file names are arbitrary bytes (not necessarily UTF-8), so the directory
     * scanner passes NUL-terminated byte arrays instead of Strings.
     */
    NativeLong lgetxattr(byte[] path, byte[] name, byte[] value, NativeLong size)
            throws LastErrorException;

    NativeLong llistxattr(byte[] path, byte[] list, NativeLong size) throws LastErrorException;

    NativeLong readlink(byte[] path, byte[] buf, NativeLong size) throws LastErrorException;

    /* Native-buffer variants: JNA copies a byte[] both ways on every call, a Pointer not at all. */
    NativeLong lgetxattr(byte[] path, byte[] name, Pointer value, NativeLong size)
            throws LastErrorException;

    NativeLong llistxattr(byte[] path, Pointer list, NativeLong size) throws LastErrorException;

    int isatty(int fd);

    int ioctl(int fd, NativeLong request, Pointer arg) throws LastErrorException;

    int ioctl(int fd, NativeLong request, NativeLong arg) throws LastErrorException;

    NativeLong copy_file_range(
            int fdIn, Pointer offIn, int fdOut, Pointer offOut, NativeLong len, int flags)
            throws LastErrorException;

    int mount(String source, String target, String fstype, NativeLong flags, String data)
            throws LastErrorException;

    int umount2(String target, int flags) throws LastErrorException;

    /** Raw syscall for calls glibc 2.36 has no wrapper for (fsopen, fsconfig, fsmount, move_mount). */
    NativeLong syscall(NativeLong number, Object... args) throws LastErrorException;

    String strerror(int errnum);

    int AT_FDCWD = -100;

    /** *at calls: act on a symlink itself rather than its target. */
    int AT_SYMLINK_NOFOLLOW = 0x100;

    /** access mode: existence only. */
    int F_OK = 0;

    /** renameat2 flag: fail with EEXIST instead of replacing the target. */
    int RENAME_NOREPLACE = 1;

    /** glibc >= 2.28; EINVAL when the filesystem cannot honour the flags. */
    int renameat2(int oldDirFd, String oldPath, int newDirFd, String newPath, int flags)
            throws LastErrorException;

    int link(String oldPath, String newPath) throws LastErrorException;

    int mkdirat(int dirFd, String path, int mode) throws LastErrorException;

    int AT_REMOVEDIR = 0x200;

    int unlinkat(int dirFd, String path, int flags) throws LastErrorException;

    int LOCK_SH = 1;
    int LOCK_EX = 2;
    int LOCK_NB = 4;
    int LOCK_UN = 8;

    /**
     * BSD lock on an open file description: unlike the JDK's fcntl locks it conflicts between two fds
     * of the same process and survives closing other fds of the file, so threads can use it too.
     */
    int flock(int fd, int operation) throws LastErrorException;

    NativeLong read(int fd, byte[] buf, NativeLong count) throws LastErrorException;

    NativeLong pread(int fd, byte[] buf, NativeLong count, long offset) throws LastErrorException;

    int POSIX_FADV_WILLNEED = 3;
    int POSIX_FADV_DONTNEED = 4;

    /** Returns 0 or an error number (it does not set errno). */
    int posix_fadvise(int fd, long offset, long len, int advice);

    int MS_RDONLY = 1;
    int MS_NOSUID = 2;
    int MS_NODEV = 4;
    int MS_REMOUNT = 32;
    int MS_BIND = 4096;
    int MS_SILENT = 32768;
    int MNT_DETACH = 2;

    /** umount2 flag: do not follow a symlink in the last component. */
    int UMOUNT_NOFOLLOW = 8;

    /** {@code _IOW(0x94, 9, int)}: share the source fd's extents with the destination (reflink). */
    long FICLONE = 0x40049409L;
}
