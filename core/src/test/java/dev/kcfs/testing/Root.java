package dev.kcfs.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Guards for tests that need root (mounts, trusted.* xattrs, device nodes). Tag them {@code @Tag("root")}. */
public final class Root {
    private Root() {}

    public static boolean isRoot() {
        try {
            return "0"
                    .equals(
                            Files.readString(Path.of("/proc/self/status"))
                                    .lines()
                                    .filter(l -> l.startsWith("Uid:"))
                                    .findFirst()
                                    .orElse("")
                                    .split("\\s+")[1]);
        } catch (IOException | ArrayIndexOutOfBoundsException e) {
            return false;
        }
    }

    /** Skips the calling test unless running as root. */
    public static void assumeRoot() {
        assumeTrue(
                isRoot(),
                "skipped: needs root (CI runs these as root in a private mount namespace)");
    }
}
