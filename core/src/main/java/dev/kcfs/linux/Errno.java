package dev.kcfs.linux;

import com.sun.jna.LastErrorException;

/** errno values kcfs reacts to, and readable descriptions of failed calls. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int ENOTBLK = 15;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENODEV = 19;
    public static final int ENOTDIR = 20;
    public static final int EINVAL = 22;
    public static final int ENOTTY = 25;
    public static final int ETXTBSY = 26;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ERANGE = 34;
    public static final int ENOSYS = 38;
    public static final int ENODATA = 61;
    public static final int EOVERFLOW = 75;
    public static final int ELOOP = 40;
    public static final int EMSGSIZE = 90;
    public static final int EOPNOTSUPP = 95;

    private Errno() {}

    /** "what failed: strerror (errno N)". */
    public static String describe(String what, LastErrorException e) {
        return what + ": " + text(e.getErrorCode()) + " (errno " + e.getErrorCode() + ")";
    }

    /** The C library's text for an error number ("No such file or directory"). */
    public static String text(int errno) {
        return LibC.INSTANCE.strerror(errno);
    }
}
