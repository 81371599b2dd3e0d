package dev.kcfs.csi;

import dev.kcfs.verity.Digest;
import java.nio.file.Path;

/** A ComposefsImage as this node has it: its name, the digest its ref points at, the EROFS file. */
public record ResolvedImage(String name, Digest digest, Path imageFile) {
}
