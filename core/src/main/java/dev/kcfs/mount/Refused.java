package dev.kcfs.mount;

/**
 * A kernel refusal inside the mount code: its errno (which decides whether a fallback of {@link
 * MountCompat} is tried) and the kernel's explanation. Callers outside the package see a {@link
 * MountException}.
 */
final class Refused extends Exception {
    final int errno;

    Refused(int errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }
}
