package dev.kcfs.publish;

import dev.kcfs.verity.Digest;

/** A ComposefsImage as this node has it: its name and the digest its ref points at. */
public record ResolvedImage(String name, Digest digest) {}
