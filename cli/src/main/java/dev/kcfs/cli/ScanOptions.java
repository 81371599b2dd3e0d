package dev.kcfs.cli;

import dev.kcfs.scan.DirectoryScanner;
import picocli.CommandLine.Option;

/** The directory-scan options shared by {@code mkcomposefs} and {@code store add} (upstream's names). */
final class ScanOptions {
    @Option(names = "--use-epoch", description = "Set every mtime to 0 (the Unix epoch).")
    boolean useEpoch;

    @Option(names = "--skip-devices", description = "Leave out character and block devices.")
    boolean skipDevices;

    @Option(names = "--skip-xattrs", description = "Leave out all extended attributes.")
    boolean skipXattrs;

    @Option(names = "--user-xattrs", description = "Keep only user.* extended attributes.")
    boolean userXattrs;

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "Hashing threads (default: available processors).")
    Integer threads;

    @Option(
            names = "--no-prefetch",
            hidden = true,
            description = "Benchmarking: do not read files ahead of the hashers.")
    boolean noPrefetch;

    /** Whether any option that only applies to a directory scan was given. */
    boolean anyTreeOption() {
        return useEpoch || skipDevices || skipXattrs || userXattrs;
    }

    /** Checks the combination; returns a usage problem, or null. */
    String problem() {
        if (skipXattrs && userXattrs) {
            return "--skip-xattrs and --user-xattrs contradict each other: give one";
        }
        if (threads != null && threads < 1) {
            return "--threads must be at least 1, got " + threads;
        }
        return null;
    }

    DirectoryScanner.Options toOptions() {
        DirectoryScanner.Options o =
                DirectoryScanner.Options.defaults()
                        .withUseEpoch(useEpoch)
                        .withSkipDevices(skipDevices)
                        .withSkipXattrs(skipXattrs)
                        .withUserXattrsOnly(userXattrs)
                        .withPrefetch(!noPrefetch);
        return threads != null ? o.withThreads(threads) : o;
    }
}
