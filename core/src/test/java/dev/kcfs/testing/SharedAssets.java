package dev.kcfs.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the shared conformance material ({@code ../shared} beside the repository, or the
 * {@code KCFS_SHARED} environment variable). Tests that need it skip with a message when absent,
 * so a plain clone still passes.
 */
public final class SharedAssets {
    private SharedAssets() {}

    /** The repository root: the nearest ancestor of the working directory holding {@code mvnw}. */
    public static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("mvnw"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException(
                    "not inside the kcfs repository: " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    /** {@code shared/composefs/assets}, or skips the calling test when it is not there. */
    public static Path composefsAssets() {
        String env = System.getenv("KCFS_SHARED");
        Path shared = env != null ? Path.of(env) : repoRoot().resolveSibling("shared");
        Path assets = shared.resolve("composefs").resolve("assets");
        assumeTrue(
                Files.isDirectory(assets),
                "skipped: upstream composefs assets not found at "
                        + assets
                        + " (set KCFS_SHARED to the shared/ folder)");
        return assets;
    }
}
