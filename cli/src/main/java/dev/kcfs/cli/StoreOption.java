package dev.kcfs.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --store DIR} option shared by the commands that work on a node store. */
final class StoreOption {
    static final String DEFAULT = "/var/lib/kcfs";

    @Option(names = "--store", paramLabel = "DIR", defaultValue = "${env:KCFS_STORE:-" + DEFAULT + "}",
            description = "Node store (default: $KCFS_STORE or " + DEFAULT + ").")
    Path dir;
}
