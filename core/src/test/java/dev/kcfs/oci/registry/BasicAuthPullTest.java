package dev.kcfs.oci.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.sources.ImageSources;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.pull.ImageTrees;
import dev.kcfs.pull.layer.BodySink;
import dev.kcfs.pull.layer.TreeText;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class BasicAuthPullTest {
    @RegisterExtension
    static final TestRegistry registry = TestRegistry.basicAuth("alice", "s3cret:with colon");

    static TestImage image;

    @BeforeAll
    static void push() throws Exception {
        image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(
                                        new TarBuilder()
                                                .file("secret", "basic auth works")
                                                .build())));
        image.push(registry.pusher(), "private/app", "v1");
    }

    static String pull(DockerConfig creds) throws Exception {
        RegistryClient client = new RegistryClient(creds, true, 2, Duration.ofMillis(10));
        try (ImageSource src = ImageSources.open(registry.address() + "/private/app:v1", client)) {
            return TreeText.render(
                    ImageTrees.build(
                            src, src.resolve(Platform.current()), BodySink.hashOnly(), null, null));
        }
    }

    @Test
    void pullsWithCredentialsFromADockerConfigFile(@TempDir Path dir) throws Exception {
        Path auth = dir.resolve("config.json");
        Files.write(auth, registry.dockerConfigJson());
        assertThat(pull(DockerConfig.read(auth)))
                .contains("/secret 100644")
                .contains(
                        "inline="
                                + java.util.HexFormat.of()
                                        .formatHex("basic auth works".getBytes()));
    }

    @Test
    void pullsWithUsernamePasswordFieldsAndUrlKeys() throws Exception {
        String json =
                "{\"auths\":{\"http://"
                        + registry.address()
                        + "/v2/\":{\"username\":\"alice\",\"password\":\"s3cret:with colon\"}}}";
        assertThat(pull(DockerConfig.parse(json.getBytes(), "secret kube-system/pull")))
                .contains("/secret ");
    }

    @Test
    void anonymousPullIsDeniedWithAHint() {
        assertThatThrownBy(() -> pull(DockerConfig.empty()))
                .hasMessageContaining(
                        "requires a user name and password; none configured (use --authfile or a pull secret)")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
    }

    @Test
    void wrongPasswordIsDenied() {
        String json =
                "{\"auths\":{\""
                        + registry.address()
                        + "\":{\"auth\":\""
                        + java.util.Base64.getEncoder().encodeToString("alice:wrong".getBytes())
                        + "\"}}}";
        assertThatThrownBy(() -> pull(DockerConfig.parse(json.getBytes(), "test")))
                .hasMessageContaining(
                        "access denied by "
                                + registry.address()
                                + " (HTTP 401); the configured credentials for "
                                + registry.address()
                                + " were refused")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
    }

    static DockerConfig login(String user, String password) throws Exception {
        String json =
                "{\"auths\":{\""
                        + registry.address()
                        + "\":{\"auth\":\""
                        + java.util.Base64.getEncoder()
                                .encodeToString((user + ":" + password).getBytes())
                        + "\"}}}";
        return DockerConfig.parse(json.getBytes(), user + "/" + password);
    }

    @Test
    void manifestDigestAnswersTheBasicChallengeWithTheFirstMergedLoginForTheRegistry()
            throws Exception {
        RegistryClient client =
                new RegistryClient(DockerConfig.empty(), true, 1, Duration.ofMillis(10));
        ImageReference ref = ImageReference.parse(registry.address() + "/private/app:v1");
        assertThatThrownBy(() -> client.manifestDigest(ref))
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
        DockerConfig other =
                DockerConfig.parse(
                        "{\"auths\":{\"other.example\":{\"auth\":\"eDp5\"}}}".getBytes(), "other");
        DockerConfig right = other.merge(login("alice", "s3cret:with colon"));
        DockerConfig wrong = login("alice", "wrong");
        assertThat(new RegistryClient(right, true, 1, Duration.ofMillis(10)).manifestDigest(ref))
                .isEqualTo(image.digest());
        assertThat(
                        new RegistryClient(right.merge(wrong), true, 1, Duration.ofMillis(10))
                                .manifestDigest(ref))
                .isEqualTo(image.digest());
        assertThatThrownBy(
                        () ->
                                new RegistryClient(
                                                wrong.merge(right), true, 1, Duration.ofMillis(10))
                                        .manifestDigest(ref))
                .hasMessageContaining(
                        "the configured credentials for " + registry.address() + " were refused")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
    }

    @Test
    void clientsWithOtherCredentialsShareNoLogins() throws Exception {
        RegistryClient anonymous =
                new RegistryClient(DockerConfig.empty(), true, 1, Duration.ofMillis(10));
        ImageReference ref = ImageReference.parse(registry.address() + "/private/app:v1");
        RegistryClient alice = anonymous.withCredentials(login("alice", "s3cret:with colon"));
        assertThat(alice.manifestDigest(ref)).isEqualTo(image.digest());
        assertThat(alice.manifestDigest(ref)).isEqualTo(image.digest());
        assertThatThrownBy(() -> anonymous.manifestDigest(ref))
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
        assertThatThrownBy(() -> alice.withCredentials(DockerConfig.empty()).manifestDigest(ref))
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
    }
}
