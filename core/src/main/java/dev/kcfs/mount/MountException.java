package dev.kcfs.mount;

import java.io.IOException;

/**
 * Mounting or unmounting failed; the message names the image/target, the problem, and what to do.
 * {@link #kind()} says whether trying again can help, so callers (a CLI, a CSI call) can choose
 * their answer.
 */
public final class MountException extends IOException {
    /** Why a mount was not made. */
    public enum Kind {
        /** The kernel or the input refused it. */
        FAILED,
        /** Another operation held the shared mounts longer than the caller would wait: try again. */
        BUSY,
        /** Refused by a rule (a weaker mount of the image is in use, a digest differs from what is expected). */
        REFUSED
    }

    private final Kind kind;

    public MountException(String message) {
        this(Kind.FAILED, message);
    }

    public MountException(String message, Throwable cause) {
        super(message, cause);
        this.kind = Kind.FAILED;
    }

    public MountException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
