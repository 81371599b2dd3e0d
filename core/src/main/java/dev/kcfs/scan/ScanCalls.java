package dev.kcfs.scan;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * The C library calls a directory scan makes once or more per entry, bound with JNA's direct
 * mapping: a static native method costs a fraction of an interface call through
 * {@link dev.kcfs.linux.LibC} (a proxy, reflection and argument conversion per call), which was a
 * fifth of the walking thread's time on /usr/share (issue 13). Sizes are {@code long}: size_t and
 * ssize_t on the 64-bit Linux kcfs runs on.
 */
final class ScanCalls {
    static {
        Native.register("c");
    }

    private ScanCalls() {}

    static native long llistxattr(byte[] path, Pointer list, long size) throws LastErrorException;

    static native long lgetxattr(byte[] path, byte[] name, Pointer value, long size)
            throws LastErrorException;

    static native long readlink(byte[] path, byte[] buf, long size) throws LastErrorException;

    static final int O_RDONLY = 0;
    static final int O_NOFOLLOW = 0400000;
    static final int O_CLOEXEC = 02000000;
    static final int POSIX_FADV_WILLNEED = 3;

    static native int open(byte[] path, int flags) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    /** Returns 0 or an error number (it does not set errno). */
    static native int posix_fadvise(int fd, long offset, long len, int advice);

    static native long read(int fd, long buf, long count) throws LastErrorException;

    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;

    /** STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MTIME | STATX_SIZE. */
    static final int STATX_NEEDED = 0x1 | 0x2 | 0x8 | 0x10 | 0x40 | 0x200;

    /** {@code struct statx}: its size and the offsets of the fields a scan reads. */
    static final int STATX_SIZE = 256;

    static final int STX_MASK = 0;
    static final int STX_UID = 20;
    static final int STX_GID = 24;
    static final int STX_MODE = 28;
    static final int STX_SIZE = 40;
    static final int STX_MTIME = 112;
    static final int STX_RDEV_MAJOR = 128;
    static final int STX_RDEV_MINOR = 132;

    /** glibc 2.28+; {@code buf} is the address of {@link #STATX_SIZE} bytes. */
    static native int statx(int dirfd, byte[] path, int flags, int mask, long buf)
            throws LastErrorException;

    /** The native address of a direct buffer. */
    static long address(ByteBuffer direct) {
        return Pointer.nativeValue(Native.getDirectBufferPointer(direct));
    }
}
