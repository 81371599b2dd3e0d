package dev.kcfs.mount;

import java.nio.file.Path;
import java.util.List;

/**
 * A composefs mount that was made. {@code loopDevice} is null for a file-backed EROFS mount;
 * {@code notes} say what differs from what was asked (e.g. verity not enforced).
 */
public record Mounted(
        Path target,
        boolean verityEnforced,
        boolean writable,
        String loopDevice,
        boolean legacyOverlay,
        List<String> notes) {
    public Mounted {
        notes = List.copyOf(notes);
    }
}
