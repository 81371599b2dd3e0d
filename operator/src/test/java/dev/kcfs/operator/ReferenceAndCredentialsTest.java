package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.api.SecretRef;
import dev.kcfs.kube.PullSecrets;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryCredentials;
import dev.kcfs.operator.registry.RegistryManifestResolver;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Pinning and pull secrets at the operator's boundary. Reference parsing, docker config parsing and
 * the registry protocol are tested in core ({@code ReferencesTest}, {@code registry.*Test}).
 */
@EnableKubernetesMockClient(crud = true)
class ReferenceAndCredentialsTest {
    private static final String SHA = "sha256:" + "ab".repeat(32);

    KubernetesClient client;

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

    private void secret(String name, String dockerConfigJson) {
        client.secrets()
                .inNamespace("ci")
                .resource(
                        new SecretBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace("ci")
                                .endMetadata()
                                .withType("kubernetes.io/dockerconfigjson")
                                .withData(
                                        Map.of(
                                                PullSecrets.DOCKER_CONFIG_KEY,
                                                Base64.getEncoder()
                                                        .encodeToString(
                                                                dockerConfigJson.getBytes(
                                                                        StandardCharsets.UTF_8))))
                                .build())
                .create();
    }

    private static String auth(String user, String password) {
        return Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void pullSecretsMergeWithTheFirstListedLoginWinning() throws Exception {
        secret(
                "a",
                "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\""
                        + auth("u1", "p:w")
                        + "\"},"
                        + "\"Reg.Example:5000\":{\"username\":\"u2\",\"password\":\"p2\"}}}");
        secret(
                "b",
                "{\"auths\":{\"reg.example:5000\":{\"auth\":\""
                        + auth("u3", "p3")
                        + "\"},"
                        + "\"ghcr.io\":{\"auth\":\""
                        + auth("u4", "p4")
                        + "\"}}}");
        PullSecrets secrets = new PullSecrets(client, "the operator");
        DockerConfig c =
                secrets.load("tools", List.of(new SecretRef("ci", "a"), new SecretRef("ci", "b")));
        assertThat(c.forRegistry("docker.io")).contains(new RegistryCredentials("u1", "p:w"));
        assertThat(c.forRegistry("reg.example:5000")).contains(new RegistryCredentials("u2", "p2"));
        assertThat(c.forRegistry("ghcr.io")).contains(new RegistryCredentials("u4", "p4"));
        assertThat(c.forRegistry("quay.io")).isEmpty();
        assertThat(
                        secrets.load(
                                        "tools",
                                        List.of(new SecretRef("ci", "b"), new SecretRef("ci", "a")))
                                .forRegistry("reg.example:5000"))
                .contains(new RegistryCredentials("u3", "p3"));
        assertThat(secrets.load("tools", null).isEmpty()).isTrue();
    }

    @Test
    void malformedPullSecretsSayWhatIsWrong() {
        secret("empty", "{}");
        secret("badauth", "{\"auths\":{\"r.io\":{\"auth\":\"%%%\"}}}");
        secret("notjson", "not json");
        PullSecrets secrets = new PullSecrets(client, "the operator");
        assertThatThrownBy(() -> secrets.load("tools", List.of(new SecretRef("ci", "empty"))))
                .isInstanceOf(PullSecrets.PullSecretException.class)
                .hasMessageContaining("ci/empty")
                .hasMessageContaining("has no registry login")
                .satisfies(
                        e ->
                                assertThat(((PullSecrets.PullSecretException) e).reason())
                                        .isEqualTo("PullSecretInvalid"));
        assertThatThrownBy(() -> secrets.load("tools", List.of(new SecretRef("ci", "badauth"))))
                .hasMessageContaining("ci/badauth")
                .hasMessageContaining("the 'auth' of r.io is not base64")
                .satisfies(
                        e ->
                                assertThat(((PullSecrets.PullSecretException) e).reason())
                                        .isEqualTo("PullSecretInvalid"));
        assertThatThrownBy(() -> secrets.load("tools", List.of(new SecretRef("ci", "notjson"))))
                .hasMessageContaining("ci/notjson")
                .hasMessageContaining("is not valid JSON")
                .satisfies(
                        e ->
                                assertThat(((PullSecrets.PullSecretException) e).reason())
                                        .isEqualTo("PullSecretInvalid"));
    }
}
