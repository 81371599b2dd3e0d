package dev.kcfs.verity;

import java.io.IOException;

/** A kernel fs-verity call failed for a reason other than "verity is not available here". */
public final class VerityException extends IOException {
    private final int errno;

    public VerityException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The errno of the failed call, or 0 when the kernel's answer itself was unusable. */
    public int errno() {
        return errno;
    }
}
