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
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TokenAuthPullTest {
    @RegisterExtension
    static final TestRegistry registry = TestRegistry.tokenAuth("bob", "hunter2");

    static TestImage image;

    @BeforeAll
    static void push() throws Exception {
        image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.zstd(
                                        new TarBuilder()
                                                .file("token", "bearer works")
                                                .file("big", Fixtures.BIG)
                                                .build())));
        image.push(registry.pusher(), "team/app", "v1");
    }

    static String pull(DockerConfig creds) throws Exception {
        RegistryClient client = new RegistryClient(creds, true, 2, Duration.ofMillis(10));
        try (ImageSource src = ImageSources.open(registry.address() + "/team/app:v1", client)) {
            return TreeText.render(
                    ImageTrees.build(
                            src, src.resolve(Platform.current()), BodySink.hashOnly(), null, null));
        }
    }

    @Test
    void bearerTokenFromTheRealmWithServiceAndScope() throws Exception {
        registry.tokenServer().requests.clear();
        String tree = pull(DockerConfig.parse(registry.dockerConfigJson(), "test"));
        assertThat(tree)
                .contains("/token 100644")
                .contains("/big 100644 0:0 n1 t1700000000.0 size=700000");
        // one token for the repository, reused for the manifest and every blob
        assertThat(registry.tokenServer().requests).containsExactly("bob repository:team/app:pull");
    }

    @Test
    void anonymousTokenGrantsNothingAndThePullIsDenied() {
        assertThatThrownBy(() -> pull(DockerConfig.empty()))
                .hasMessageContaining(
                        "access denied by "
                                + registry.address()
                                + " (HTTP 401); no credentials configured")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
    }

    @Test
    void badCredentialsAreRefusedByTheTokenServer() {
        String json =
                "{\"auths\":{\""
                        + registry.address()
                        + "\":{\"auth\":\""
                        + java.util.Base64.getEncoder().encodeToString("bob:nope".getBytes())
                        + "\"}}}";
        assertThatThrownBy(() -> pull(DockerConfig.parse(json.getBytes(), "test")))
                .hasMessageContaining(
                        "token server "
                                + registry.tokenServer().realm()
                                + " refused the configured credentials (HTTP 401)")
                .satisfies(
                        e ->
                                assertThat(((OciException) e).kind())
                                        .isEqualTo(OciException.Kind.UNAUTHORIZED));
    }

    @Test
    void manifestDigestWithABearerToken() throws Exception {
        RegistryClient client =
                new RegistryClient(
                        DockerConfig.parse(registry.dockerConfigJson(), "test"),
                        true,
                        1,
                        Duration.ofMillis(10));
        assertThat(client.manifestDigest(ImageReference.parse(registry.address() + "/team/app:v1")))
                .isEqualTo(image.digest());
    }
}
