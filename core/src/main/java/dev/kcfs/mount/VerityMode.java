package dev.kcfs.mount;

/** Whether overlayfs must check each backing file's fs-verity digest against the image ({@code verity=require}). */
public enum VerityMode {
    /** No verity checks on backing files. */
    OFF,
    /** Enforce where the kernel and the filesystems support fs-verity; otherwise mount without and say so. */
    IF_SUPPORTED,
    /** Enforce, or fail the mount when fs-verity is unavailable. */
    REQUIRED
}
