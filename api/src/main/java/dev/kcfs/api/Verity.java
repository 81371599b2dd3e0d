package dev.kcfs.api;

import dev.kcfs.mount.VerityMode;
import java.util.Locale;

/**
 * Kernel fs-verity enforcement for mounts of an image, and the one place that maps it to the mount's
 * {@link VerityMode} and reads either spelling of a setting (the CRD's {@code Required},
 * {@code IfSupported}, {@code Disabled} and the mount's {@code REQUIRED}, {@code IF_SUPPORTED},
 * {@code OFF}).
 */
public enum Verity {
    /** Mount only where the kernel verifies every file; elsewhere the mount fails. */
    Required,
    /** Verify where the kernel and filesystem can; mount without it elsewhere. */
    IfSupported,
    /** Never ask the kernel to verify. */
    Disabled;

    /** The mount mode that enforces this setting. */
    public VerityMode mode() {
        return switch (this) {
            case Required -> VerityMode.REQUIRED;
            case IfSupported -> VerityMode.IF_SUPPORTED;
            case Disabled -> VerityMode.OFF;
        };
    }

    /**
     * The mode a mount of an image gets on a node: the node's {@code REQUIRED} is a floor that no spec
     * lowers (the admin demands verified mounts); otherwise the image's {@code spec.verity} decides, and
     * the node's mode only stands in where the spec is unknown ({@code null}).
     */
    public static VerityMode effectiveMode(VerityMode nodeMode, Verity spec) {
        if (nodeMode == VerityMode.REQUIRED || spec == null) {
            return nodeMode;
        }
        return spec.mode();
    }

    /**
     * Reads a verity setting in either spelling, ignoring case: {@code Required}, {@code IfSupported},
     * {@code Disabled} as in a ComposefsImage, or {@code REQUIRED}, {@code IF_SUPPORTED}, {@code OFF}.
     *
     * @throws IllegalArgumentException naming the value and the accepted spellings
     */
    public static VerityMode parseMode(String text) {
        String key = text == null ? "" : text.trim().toUpperCase(Locale.ROOT);
        for (VerityMode mode : VerityMode.values()) {
            if (mode.name().equals(key)) {
                return mode;
            }
        }
        for (Verity verity : values()) {
            if (verity.name().toUpperCase(Locale.ROOT).equals(key)) {
                return verity.mode();
            }
        }
        throw new IllegalArgumentException(
                "'"
                        + text
                        + "' is not a verity setting; use one of Required, IfSupported,"
                        + " Disabled (as in spec.verity) or REQUIRED, IF_SUPPORTED, OFF");
    }
}
