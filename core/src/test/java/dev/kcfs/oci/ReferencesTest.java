package dev.kcfs.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryCredentials;
import dev.kcfs.oci.sources.ImageSources;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ReferencesTest {
    static final String D = "sha256:" + "ab".repeat(32);

    @Test
    void parsesReferencesWithDockerDefaults() {
        assertThat(ImageReference.parse("alpine"))
                .isEqualTo(new ImageReference("docker.io", "library/alpine", "latest", null));
        assertThat(ImageReference.parse("user/app:1.2"))
                .isEqualTo(new ImageReference("docker.io", "user/app", "1.2", null));
        assertThat(ImageReference.parse("index.docker.io/library/x"))
                .isEqualTo(new ImageReference("docker.io", "library/x", "latest", null));
        assertThat(ImageReference.parse("localhost:5000/a/b/c:t@" + D))
                .isEqualTo(new ImageReference("localhost:5000", "a/b/c", "t", D));
        assertThat(ImageReference.parse("quay.io/org/img@" + D))
                .isEqualTo(new ImageReference("quay.io", "org/img", null, D));
        assertThat(ImageReference.parse("alpine").apiHost()).isEqualTo("registry-1.docker.io");
        assertThat(ImageReference.parse("quay.io/org/img@" + D).manifestReference()).isEqualTo(D);
        assertThatThrownBy(() -> ImageReference.parse("UPPER/case"))
                .hasMessageContaining("repository 'UPPER/case' is not valid");
        assertThatThrownBy(() -> ImageReference.parse("a:b:c")).hasMessageContaining("not valid");
        assertThatThrownBy(() -> ImageReference.parse("a@sha256:1234"))
                .hasMessageContaining("not a valid sha256 digest");
        assertThatThrownBy(() -> ImageReference.parse("a@md5:" + "0".repeat(32)))
                .hasMessageContaining("digest algorithm 'md5' is not supported");
    }

    @Test
    void referencesAsTheOperatorPinsThem() throws Exception {
        assertThat(ImageReference.parseChecked("busybox"))
                .isEqualTo(new ImageReference("docker.io", "library/busybox", "latest", null));
        assertThat(ImageReference.parseChecked("127.0.0.1:5000/a/b:v1"))
                .isEqualTo(new ImageReference("127.0.0.1:5000", "a/b", "v1", null));
        assertThat(ImageReference.parseChecked("localhost/a"))
                .isEqualTo(new ImageReference("localhost", "a", "latest", null));
        assertThat(ImageReference.parseChecked("ghcr.io/o/r:t@" + D).pinned(D))
                .isEqualTo("ghcr.io/o/r@" + D);
        assertThat(ImageReference.parseChecked("org/app:1.2").pinned(D))
                .isEqualTo("docker.io/org/app@" + D);
        for (String bad : new String[] {"r@sha256:12", "Not An Image!", "", " ", "a:"}) {
            assertThatThrownBy(() -> ImageReference.parseChecked(bad))
                    .as(bad)
                    .isInstanceOf(OciException.class)
                    .satisfies(
                            e ->
                                    assertThat(((OciException) e).kind())
                                            .isEqualTo(OciException.Kind.INVALID_REFERENCE));
        }
        assertThatThrownBy(() -> ImageReference.parseChecked("r@sha256:12"))
                .hasMessageContaining("r@sha256:12");
        assertThat(new OciException("x").kind()).isEqualTo(OciException.Kind.OTHER);
    }

    @Test
    void plainHttpRegistriesMatchHostPortOrEveryPortOfAHost() {
        var o =
                dev.kcfs.oci.registry.RegistryClient.Options.defaults()
                        .withPlainHttpRegistries(
                                java.util.Set.of("Reg.Example:5000", "localhost", "[::1]"));
        assertThat(o.isPlainHttp("reg.example:5000")).isTrue();
        assertThat(o.isPlainHttp("reg.example:5001")).isFalse();
        assertThat(o.isPlainHttp("reg.example")).isFalse();
        assertThat(o.isPlainHttp("localhost")).isTrue();
        assertThat(o.isPlainHttp("localhost:5000")).isTrue();
        assertThat(o.isPlainHttp("[::1]:5000")).isTrue();
        assertThat(o.isPlainHttp("localhost.example:5000")).isFalse();
        assertThat(o.isPlainHttp("docker.io")).isFalse();
        assertThat(o.withPlainHttp(true).isPlainHttp("docker.io")).isTrue();
    }

    @Test
    void mergedDockerConfigsPreferTheFirstLoginForARegistry() throws Exception {
        DockerConfig a =
                DockerConfig.parse(
                        "{\"auths\":{\"r.example\":{\"username\":\"a\",\"password\":\"1\"}}}"
                                .getBytes(),
                        "a");
        DockerConfig b =
                DockerConfig.parse(
                        ("{\"auths\":{\"https://R.example/v2/\":{\"username\":\"b\",\"password\":\"2\"},"
                                        + "\"s.example\":{\"username\":\"b\",\"password\":\"3\"}}}")
                                .getBytes(),
                        "b");
        assertThat(a.merge(b).forRegistry("r.example")).contains(new RegistryCredentials("a", "1"));
        assertThat(b.merge(a).forRegistry("r.example")).contains(new RegistryCredentials("b", "2"));
        assertThat(a.merge(b).forRegistry("s.example")).contains(new RegistryCredentials("b", "3"));
        assertThat(DockerConfig.empty().merge(a).forRegistry("r.example"))
                .contains(new RegistryCredentials("a", "1"));
        assertThat(DockerConfig.empty().isEmpty()).isTrue();
        assertThat(DockerConfig.parse("{}".getBytes(), "empty").isEmpty()).isTrue();
        assertThat(
                        DockerConfig.parse(
                                        "{\"auths\":{\"t\":{\"identitytoken\":\"T\"}}}".getBytes(),
                                        "t")
                                .isEmpty())
                .isTrue();
        assertThat(a.isEmpty()).isFalse();
    }

    @Test
    void defaultRefNames() throws Exception {
        assertThat(ImageSources.defaultRefName("alpine"))
                .isEqualTo("docker.io/library/alpine:latest");
        assertThat(ImageSources.defaultRefName("docker://quay.io/a/b@" + D))
                .isEqualTo("quay.io/a/b@" + D);
        assertThat(ImageSources.defaultRefName("oci:/x/y:tag")).isEqualTo("oci:/x/y:tag");
        assertThatThrownBy(() -> ImageSources.defaultRefName("Bad Name"))
                .isInstanceOf(OciException.class);
    }

    @Test
    void platforms() {
        assertThat(Platform.parse("linux/arm64/v8"))
                .isEqualTo(new Platform("linux", "arm64", "v8"));
        assertThat(Platform.parse("linux/amd64").matches(new Platform("linux", "amd64", null)))
                .isTrue();
        assertThat(Platform.parse("linux/arm64").matches(new Platform("linux", "arm64", "v8")))
                .isTrue();
        assertThat(Platform.parse("linux/arm64/v8").matches(new Platform("linux", "arm64", null)))
                .isFalse();
        assertThat(Platform.parse("linux/amd64").matches(null)).isFalse();
        assertThatThrownBy(() -> Platform.parse("linux")).hasMessageContaining("is not OS/ARCH");
        Platform here = Platform.current();
        assertThat(here.os()).isEqualTo("linux");
        assertThat(here.architecture())
                .isIn("amd64", "arm64", "ppc64le", "s390x", "riscv64", "386", "arm");
    }

    @Test
    void dockerConfigFormats() throws Exception {
        String auth = Base64.getEncoder().encodeToString("u:p:with:colons".getBytes());
        DockerConfig c =
                DockerConfig.parse(
                        ("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\""
                                        + auth
                                        + "\"},"
                                        + "\"Registry.Example:5000\":{\"username\":\"x\",\"password\":\"y\"},"
                                        + "\"tok.example\":{\"identitytoken\":\"T\"}}}")
                                .getBytes(),
                        "test");
        assertThat(c.forRegistry("docker.io"))
                .contains(new RegistryCredentials("u", "p:with:colons"));
        assertThat(c.forRegistry("registry-1.docker.io"))
                .contains(new RegistryCredentials("u", "p:with:colons"));
        assertThat(c.forRegistry("registry.example:5000"))
                .contains(new RegistryCredentials("x", "y"));
        assertThat(c.forRegistry("tok.example"))
                .isEmpty(); // identity tokens need OAuth, not supported
        assertThat(c.forRegistry("other.example")).isEmpty();
        // legacy .dockercfg: no "auths" level
        DockerConfig legacy =
                DockerConfig.parse(
                        ("{\"r.example\":{\"auth\":\"" + auth + "\"}}").getBytes(), "legacy");
        assertThat(legacy.forRegistry("r.example")).isPresent();
        assertThatThrownBy(
                        () ->
                                DockerConfig.parse(
                                        "{\"auths\":{\"r\":{\"auth\":\"!!!\"}}}".getBytes(),
                                        "secret ns/pull"))
                .hasMessageContaining("auth config secret ns/pull: the 'auth' of r is not base64");
        assertThatThrownBy(() -> DockerConfig.parse("nope".getBytes(), "f.json"))
                .hasMessageContaining("auth config f.json is not valid JSON");
        assertThat(new RegistryCredentials("u", "secret").toString()).doesNotContain("secret");
    }

    @Test
    void challenges() {
        var c =
                dev.kcfs.oci.registry.RegistryClientAccess.parseChallenge(
                        "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull\"");
        assertThat(c)
                .containsEntry("scheme", "bearer")
                .containsEntry("realm", "https://auth.example/token")
                .containsEntry("service", "registry.example")
                .containsEntry("scope", "repository:a/b:pull");
        assertThat(
                        dev.kcfs.oci.registry.RegistryClientAccess.parseChallenge(
                                "Basic realm=\"x, \\\"y\\\"\""))
                .containsEntry("scheme", "basic")
                .containsEntry("realm", "x, \"y\"");
    }
}
