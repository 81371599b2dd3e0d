package dev.kcfs.image.erofs;

import java.io.IOException;

/**
 * A composefs image that cannot be read (not a composefs file, truncated, inconsistent offsets) or a
 * tree that cannot be written as one (e.g. "File too large"). The message names the input and the
 * problem.
 */
public final class ErofsException extends IOException {
    private static final long serialVersionUID = 1L;

    public ErofsException(String message) {
        super(message);
    }
}
