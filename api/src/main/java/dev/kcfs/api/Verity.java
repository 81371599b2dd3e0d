package dev.kcfs.api;

/** Kernel fs-verity enforcement for mounts of an image. */
public enum Verity {
  /** Mount only where the kernel verifies every file; elsewhere the mount fails. */
  Required,
  /** Verify where the kernel and filesystem can; mount without it elsewhere. */
  IfSupported,
  /** Never ask the kernel to verify. */
  Disabled
}
