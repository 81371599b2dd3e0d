package dev.kcfs.agent;

/**
 * Why an image could not be built on this node, in words for {@code ComposefsNode.status.images[].message}
 * (and from there the image's conditions and events). {@code retryable}: whether building again
 * later can help without a change to the ComposefsImage (a registry outage can, a digest mismatch cannot).
 */
public final class BuildException extends Exception {
    private final boolean retryable;

    public BuildException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public BuildException(String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
    }

    public boolean retryable() {
        return retryable;
    }
}
