package dev.kcfs.operator.registry;

import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;

/**
 * Pins an image reference to the digest of its manifest (or index) in the registry. The operator only
 * needs this one call; the node agents do the pulling.
 */
public interface ManifestResolver {
    /**
     * @param imageRef a reference as in {@code spec.source.image}
     * @param credentials registry logins from the image's pull secrets (may be empty)
     * @return {@code registry/repository@sha256:<hex>}; a reference that already carries a digest is
     *     returned pinned to that digest
     * @throws OciException whose {@link OciException#kind()} chooses the condition reason
     *     ({@link RegistryManifestResolver#reason}) and whether to retry
     */
    String pin(String imageRef, DockerConfig credentials) throws OciException;
}
