package dev.kcfs.scan;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

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
}
