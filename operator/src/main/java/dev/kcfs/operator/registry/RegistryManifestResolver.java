package dev.kcfs.operator.registry;

import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryClient;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * Pins tags with the core registry client (the one the node agents and {@code kcfs pull} use): one
 * manifest HEAD, a GET only when the registry omits {@code Docker-Content-Digest}. An index is pinned
 * as the index, so multi-platform images stay multi-platform.
 */
public final class RegistryManifestResolver implements ManifestResolver {
    /** Loopback registries are always plain HTTP, as docker and containerd treat them. */
    private final RegistryClient client;

    /**
     * @param plainHttpRegistries registries (host[:port], or host for every port) reached over http
     *     instead of https, in addition to the loopback ones ({@link RegistryClient.Options#isPlainHttp})
     * @param connectTimeout connection set-up to a registry
     * @param requestTimeout one request, and the longest silence while reading a manifest
     */
    public RegistryManifestResolver(
            Collection<String> plainHttpRegistries,
            Duration connectTimeout,
            Duration requestTimeout) {
        Set<String> plain = new HashSet<>(plainHttpRegistries);
        // Two quick attempts only: the reconciler retries a failed pin itself, without blocking a
        // worker.
        this.client =
                new RegistryClient(
                        DockerConfig.empty(),
                        RegistryClient.Options.defaults()
                                .withPlainHttpRegistries(plain)
                                .withRetries(2, Duration.ofMillis(500))
                                .withTimeouts(connectTimeout, requestTimeout)
                                .withStallTimeout(requestTimeout));
    }

    @Override
    public String pin(String imageRef, DockerConfig credentials) throws OciException {
        ImageReference ref = ImageReference.parseChecked(imageRef);
        if (ref.digest() != null) {
            // Already content-addressed: nothing to look up, and no registry round trip per
            // reconcile.
            return ref.pinned(ref.digest());
        }
        try {
            // A client per imageRef's credentials (sharing connections): logins never leak between
            // images.
            return ref.pinned(client.withCredentials(credentials).manifestDigest(ref));
        } catch (OciException e) {
            if (e.kind() == OciException.Kind.UNREACHABLE) {
                throw new OciException(
                        e.kind(),
                        "registry "
                                + ref.registry()
                                + " is unreachable (check the host name, port and"
                                + " network policy): "
                                + e.getMessage(),
                        e);
            }
            throw e;
        } catch (IOException e) {
            // only an interrupted wait gets here; the reconciler tries again later
            throw new OciException(
                    OciException.Kind.UNREACHABLE, "image " + imageRef + ": " + e.getMessage(), e);
        }
    }

    /** The Resolved condition reason for a failure of this kind. */
    public static String reason(OciException.Kind kind) {
        switch (kind) {
            case UNREACHABLE:
                return "RegistryUnreachable";
            case UNAUTHORIZED:
                return "Unauthorized";
            case NOT_FOUND:
                return "ManifestNotFound";
            case INVALID_REFERENCE:
                return "InvalidReference";
            default:
                return "RegistryError";
        }
    }

    /**
     * Whether pinning again later can help. A bad reference cannot: the next spec change reconciles
     * anyway. Everything else can (a registry back up, a secret fixed, a tag pushed, content repaired).
     */
    public static boolean retryable(OciException.Kind kind) {
        return kind != OciException.Kind.INVALID_REFERENCE;
    }
}
