package dev.kcfs.agent;

import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryClient;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.pull.Importer;
import dev.kcfs.store.Store;
import java.nio.file.Path;
import java.time.Duration;

/** The composefs digest of an image imported straight from the registry into a fresh store, without the agent. */
final class ReferenceBuild {
    private ReferenceBuild() {}

    static String digest(Path dir, TestRegistry registry, String repoAndTag) throws Exception {
        Store store = Store.open(dir);
        try (Importer importer =
                new Importer(
                        store,
                        new RegistryClient(
                                DockerConfig.empty(), true, 1, Duration.ofMillis(100)))) {
            return importer.pull(
                            registry.address() + "/" + repoAndTag, Platform.current(), null, null)
                    .imageDigest()
                    .hex();
        }
    }
}
