package dev.kcfs.mount;

import java.io.IOException;

/** Mounting or unmounting failed; the message names the image/target, the problem, and what to do. */
public final class MountException extends IOException {
    public MountException(String message) {
        super(message);
    }

    public MountException(String message, Throwable cause) {
        super(message, cause);
    }
}
