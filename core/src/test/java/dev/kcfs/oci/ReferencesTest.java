package dev.kcfs.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.oci.registry.RegistryCredentials;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ReferencesTest {
    static final String D = "sha256:" + "ab".repeat(32);

    @Test
    void parsesReferencesWithDockerDefaults() {
        assertThat(ImageReference.parse("alpine")).isEqualTo(new ImageReference("docker.io", "library/alpine", "latest", null));
        assertThat(ImageReference.parse("user/app:1.2")).isEqualTo(new ImageReference("docker.io", "user/app", "1.2", null));
        assertThat(ImageReference.parse("index.docker.io/library/x")).isEqualTo(new ImageReference("docker.io", "library/x", "latest", null));
        assertThat(ImageReference.parse("localhost:5000/a/b/c:t@" + D))
                .isEqualTo(new ImageReference("localhost:5000", "a/b/c", "t", D));
        assertThat(ImageReference.parse("quay.io/org/img@" + D)).isEqualTo(new ImageReference("quay.io", "org/img", null, D));
        assertThat(ImageReference.parse("alpine").apiHost()).isEqualTo("registry-1.docker.io");
        assertThat(ImageReference.parse("quay.io/org/img@" + D).manifestReference()).isEqualTo(D);
        assertThatThrownBy(() -> ImageReference.parse("UPPER/case")).hasMessageContaining("repository 'UPPER/case' is not valid");
        assertThatThrownBy(() -> ImageReference.parse("a:b:c")).hasMessageContaining("not valid");
        assertThatThrownBy(() -> ImageReference.parse("a@sha256:1234")).hasMessageContaining("not a valid sha256 digest");
        assertThatThrownBy(() -> ImageReference.parse("a@md5:" + "0".repeat(32))).hasMessageContaining("digest algorithm 'md5' is not supported");
    }

    @Test
    void defaultRefNames() throws Exception {
        assertThat(ImageSources.defaultRefName("alpine")).isEqualTo("docker.io/library/alpine:latest");
        assertThat(ImageSources.defaultRefName("docker://quay.io/a/b@" + D)).isEqualTo("quay.io/a/b@" + D);
        assertThat(ImageSources.defaultRefName("oci:/x/y:tag")).isEqualTo("oci:/x/y:tag");
        assertThatThrownBy(() -> ImageSources.defaultRefName("Bad Name")).isInstanceOf(OciException.class);
    }

    @Test
    void platforms() {
        assertThat(Platform.parse("linux/arm64/v8")).isEqualTo(new Platform("linux", "arm64", "v8"));
        assertThat(Platform.parse("linux/amd64").matches(new Platform("linux", "amd64", null))).isTrue();
        assertThat(Platform.parse("linux/arm64").matches(new Platform("linux", "arm64", "v8"))).isTrue();
        assertThat(Platform.parse("linux/arm64/v8").matches(new Platform("linux", "arm64", null))).isFalse();
        assertThat(Platform.parse("linux/amd64").matches(null)).isFalse();
        assertThatThrownBy(() -> Platform.parse("linux")).hasMessageContaining("is not OS/ARCH");
        Platform here = Platform.current();
        assertThat(here.os()).isEqualTo("linux");
        assertThat(here.architecture()).isIn("amd64", "arm64", "ppc64le", "s390x", "riscv64", "386", "arm");
    }

    @Test
    void dockerConfigFormats() throws Exception {
        String auth = Base64.getEncoder().encodeToString("u:p:with:colons".getBytes());
        DockerConfig c = DockerConfig.parse(("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + auth + "\"},"
                + "\"registry.example:5000\":{\"username\":\"x\",\"password\":\"y\"},"
                + "\"tok.example\":{\"identitytoken\":\"T\"}}}").getBytes(), "test");
        assertThat(c.forRegistry("docker.io")).contains(new RegistryCredentials("u", "p:with:colons"));
        assertThat(c.forRegistry("registry-1.docker.io")).contains(new RegistryCredentials("u", "p:with:colons"));
        assertThat(c.forRegistry("registry.example:5000")).contains(new RegistryCredentials("x", "y"));
        assertThat(c.forRegistry("tok.example")).isEmpty(); // identity tokens need OAuth, not supported
        assertThat(c.forRegistry("other.example")).isEmpty();
        // legacy .dockercfg: no "auths" level
        DockerConfig legacy = DockerConfig.parse(("{\"r.example\":{\"auth\":\"" + auth + "\"}}").getBytes(), "legacy");
        assertThat(legacy.forRegistry("r.example")).isPresent();
        assertThatThrownBy(() -> DockerConfig.parse("{\"auths\":{\"r\":{\"auth\":\"!!!\"}}}".getBytes(), "secret ns/pull"))
                .hasMessageContaining("auth config secret ns/pull: the 'auth' of r is not base64");
        assertThatThrownBy(() -> DockerConfig.parse("nope".getBytes(), "f.json")).hasMessageContaining("auth config f.json is not valid JSON");
        assertThat(new RegistryCredentials("u", "secret").toString()).doesNotContain("secret");
    }

    @Test
    void challenges() {
        var c = dev.kcfs.oci.registry.RegistryClientAccess.parseChallenge(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull\"");
        assertThat(c).containsEntry("scheme", "bearer").containsEntry("realm", "https://auth.example/token")
                .containsEntry("service", "registry.example").containsEntry("scope", "repository:a/b:pull");
        assertThat(dev.kcfs.oci.registry.RegistryClientAccess.parseChallenge("Basic realm=\"x, \\\"y\\\"\""))
                .containsEntry("scheme", "basic").containsEntry("realm", "x, \"y\"");
    }

    @Test
    void mergedPullSecretsLetTheFirstWinPerRegistry() throws Exception {
        DockerConfig first = DockerConfig.parse("{\"auths\":{\"a.example\":{\"username\":\"u1\",\"password\":\"p1\"}}}".getBytes(), "first");
        DockerConfig second = DockerConfig.parse(("{\"auths\":{\"a.example\":{\"username\":\"u2\",\"password\":\"p2\"},"
                + "\"b.example\":{\"username\":\"u3\",\"password\":\"p3\"}}}").getBytes(), "second");
        DockerConfig merged = first.merge(second);
        assertThat(merged.forRegistry("a.example").orElseThrow().username()).isEqualTo("u1");
        assertThat(merged.forRegistry("b.example").orElseThrow().username()).isEqualTo("u3");
        assertThat(merged.forRegistry("c.example")).isEmpty();
        assertThat(DockerConfig.empty().merge(first).forRegistry("a.example").orElseThrow().password()).isEqualTo("p1");
    }
}
