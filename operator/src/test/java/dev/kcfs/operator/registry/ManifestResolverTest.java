package dev.kcfs.operator.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Pinning a reference to a manifest digest ({@link RegistryManifestResolver}) and the condition
 * reason and retry rule of each registry failure. Reference parsing and the registry protocol are
 * tested in core ({@code ReferencesTest}, {@code registry.*Test}).
 */
class ManifestResolverTest {
    private static final String SHA = "sha256:" + "ab".repeat(32);

    @Test
    void digestReferencesArePinnedWithoutTheRegistry() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        var resolver =
                new RegistryManifestResolver(
                        Set.of(), Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertThat(resolver.pin("quay.io/x/y:tag@" + SHA, DockerConfig.empty()))
                .isEqualTo("quay.io/x/y@" + SHA);
        // a closed loopback port: a lookup would fail
        assertThat(resolver.pin("127.0.0.1:" + closed + "/x:t@" + SHA, DockerConfig.empty()))
                .isEqualTo("127.0.0.1:" + closed + "/x@" + SHA);
        assertThatThrownBy(() -> resolver.pin("127.0.0.1:" + closed + "/x:t", DockerConfig.empty()))
                .hasMessageContaining("registry 127.0.0.1:" + closed + " is unreachable")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNREACHABLE));
    }

    @Test
    void badReferencesAreInvalidAndNotRetried() {
        var resolver =
                new RegistryManifestResolver(
                        Set.of(), Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertThatThrownBy(() -> resolver.pin("r@sha256:12", DockerConfig.empty()))
                .hasMessageContaining("r@sha256:12")
                .satisfies(
                        e -> {
                            OciException.Kind kind = ((OciException) e).kind();
                            assertThat(RegistryManifestResolver.reason(kind))
                                    .isEqualTo("InvalidReference");
                            assertThat(RegistryManifestResolver.retryable(kind)).isFalse();
                        });
    }

    @Test
    void everyKindHasItsConditionReason() {
        Map<OciException.Kind, String> expected =
                Map.of(
                        OciException.Kind.UNREACHABLE, "RegistryUnreachable",
                        OciException.Kind.UNAUTHORIZED, "Unauthorized",
                        OciException.Kind.NOT_FOUND, "ManifestNotFound",
                        OciException.Kind.INVALID_REFERENCE, "InvalidReference",
                        OciException.Kind.INVALID_CONTENT, "RegistryError",
                        OciException.Kind.OTHER, "RegistryError");
        for (OciException.Kind kind : OciException.Kind.values()) {
            assertThat(RegistryManifestResolver.reason(kind))
                    .as(kind.name())
                    .isEqualTo(expected.get(kind));
            assertThat(RegistryManifestResolver.retryable(kind))
                    .as(kind.name())
                    .isEqualTo(kind != OciException.Kind.INVALID_REFERENCE);
        }
    }
}
