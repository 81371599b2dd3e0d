package dev.kcfs.linux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The C library calls kcfs makes once or more per file (directory scans, object stores), bound
 * with JNA's direct mapping: a static native method costs a fraction of an interface call through
 * {@link LibC} (a proxy, reflection and argument conversion per call), which was a fifth of the
 * walking thread's time on /usr/share (issue 13). Paths are NUL-terminated byte arrays (file names
 * are bytes, see {@link #cPath}); memory is passed as native addresses. Sizes are {@code long}:
 * size_t and ssize_t on the 64-bit Linux kcfs runs on. Calls declared without
 * {@code throws LastErrorException} return -1 on failure without building an exception, for
 * failures that are an expected answer (a missing object). Flags and other constants are
 * {@link LibC}'s.
 */
public final class FileCalls {
    static {
        Native.register("c");
    }

    private FileCalls() {}

    public static native long llistxattr(byte[] path, Pointer list, long size)
            throws LastErrorException;

    public static native long lgetxattr(byte[] path, byte[] name, Pointer value, long size)
            throws LastErrorException;

    public static native long readlink(byte[] path, byte[] buf, long size)
            throws LastErrorException;

    public static native int open(byte[] path, int flags) throws LastErrorException;

    /** open with O_CREAT's mode. */
    public static native int open(byte[] path, int flags, int mode) throws LastErrorException;

    public static native int close(int fd) throws LastErrorException;

    /** Returns 0 or an error number (it does not set errno). */
    public static native int posix_fadvise(int fd, long offset, long len, int advice);

    public static native long read(int fd, long buf, long count) throws LastErrorException;

    public static native long write(int fd, long buf, long count) throws LastErrorException;

    /** With null offsets (0): from and to the files' positions. */
    public static native long copy_file_range(
            int fdIn, long offIn, int fdOut, long offOut, long len, int flags)
            throws LastErrorException;

    /** 0 if the path exists (with AT_SYMLINK_NOFOLLOW: as itself), else -1; errno is not kept. */
    public static native int faccessat(int dirfd, byte[] path, int mode, int flags);

    public static native int link(byte[] oldPath, byte[] newPath) throws LastErrorException;

    /** See {@link LibC#renameat2}. */
    public static native int renameat2(
            int oldDirFd, byte[] oldPath, int newDirFd, byte[] newPath, int flags)
            throws LastErrorException;

    /** STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MTIME | STATX_SIZE. */
    public static final int STATX_NEEDED = 0x1 | 0x2 | 0x8 | 0x10 | 0x40 | 0x200;

    /** {@code struct statx}: its size and the offsets of the fields a scan reads. */
    public static final int STATX_SIZE = 256;

    public static final int STX_MASK = 0;
    public static final int STX_UID = 20;
    public static final int STX_GID = 24;
    public static final int STX_MODE = 28;
    public static final int STX_SIZE = 40;
    public static final int STX_MTIME = 112;
    public static final int STX_RDEV_MAJOR = 128;
    public static final int STX_RDEV_MINOR = 132;

    /** glibc 2.28+; {@code buf} is the address of {@link #STATX_SIZE} bytes. */
    public static native int statx(int dirfd, byte[] path, int flags, int mask, long buf)
            throws LastErrorException;

    /** A path as the NUL-terminated bytes the kernel takes, exact also for names NIO cannot decode. */
    public static byte[] cPath(Path path) {
        return cPath(PathBytes.of(path));
    }

    /** The bytes with a NUL appended. */
    public static byte[] cPath(byte[] bytes) {
        return Arrays.copyOf(bytes, bytes.length + 1);
    }

    /** The native address of a direct buffer. */
    public static long address(ByteBuffer direct) {
        return Pointer.nativeValue(Native.getDirectBufferPointer(direct));
    }
}
