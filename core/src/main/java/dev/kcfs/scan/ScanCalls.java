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

    private ScanCalls() {
    }

    static native long llistxattr(byte[] path, Pointer list, long size) throws LastErrorException;

    static native long lgetxattr(byte[] path, byte[] name, Pointer value, long size) throws LastErrorException;

    static native long readlink(byte[] path, byte[] buf, long size) throws LastErrorException;
}
