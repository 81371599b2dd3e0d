package dev.kcfs.scan;

import java.io.IOException;

/**
 * A directory could not be scanned into a tree. The message names the path and what went wrong
 * (for example "cannot list xattrs of /src/a: Permission denied (errno 13)").
 */
public final class ScanException extends IOException {
    private static final long serialVersionUID = 1L;

    public ScanException(String message) {
        super(message);
    }

    public ScanException(String message, Throwable cause) {
        super(message, cause);
    }
}
