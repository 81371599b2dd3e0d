package dev.kcfs.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.api.SecretRef;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryCredentials;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link PullSecrets}: the registry logins of a ComposefsImage's pull secrets, merged in the order
 * listed, and an error naming the secret and the problem for each malformed one. Docker config
 * parsing itself is tested in core.
 */
@EnableKubernetesMockClient(crud = true)
class PullSecretsTest {
    KubernetesClient client;

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
