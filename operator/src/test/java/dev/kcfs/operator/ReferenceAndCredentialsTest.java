package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.operator.registry.HttpManifestResolver;
import dev.kcfs.operator.registry.RegistryCredentials;
import dev.kcfs.operator.registry.ResolveException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class ReferenceAndCredentialsTest {
  private static final String SHA = "sha256:" + "ab".repeat(32);

  @Test
  void referencesSplitLikeDocker() throws Exception {
    assertThat(HttpManifestResolver.parse("busybox"))
        .isEqualTo(new HttpManifestResolver.Reference("docker.io", "library/busybox", "latest", null));
    assertThat(HttpManifestResolver.parse("org/app:1.2"))
        .isEqualTo(new HttpManifestResolver.Reference("docker.io", "org/app", "1.2", null));
    assertThat(HttpManifestResolver.parse("127.0.0.1:5000/a/b:v1"))
        .isEqualTo(new HttpManifestResolver.Reference("127.0.0.1:5000", "a/b", "v1", null));
    assertThat(HttpManifestResolver.parse("localhost/a"))
        .isEqualTo(new HttpManifestResolver.Reference("localhost", "a", "latest", null));
    assertThat(HttpManifestResolver.parse("ghcr.io/o/r:t@" + SHA).pinned(SHA)).isEqualTo("ghcr.io/o/r@" + SHA);
    assertThatThrownBy(() -> HttpManifestResolver.parse("r@sha256:12"))
        .isInstanceOf(ResolveException.class).hasMessageContaining("r@sha256:12");
  }

  @Test
  void digestReferencesArePinnedWithoutTheRegistry() throws Exception {
    // No HTTP client at all: a lookup would throw.
    var resolver = new HttpManifestResolver(null, java.util.Set.of(), java.time.Duration.ofSeconds(1), new ObjectMapper());
    assertThat(resolver.pin("quay.io/x/y:tag@" + SHA, RegistryCredentials.none())).isEqualTo("quay.io/x/y@" + SHA);
  }

  @Test
  void dockerConfigJsonLoginsByHost() {
    String auth = Base64.getEncoder().encodeToString("u1:p:w".getBytes(StandardCharsets.UTF_8));
    String json = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + auth + "\"},"
        + "\"Reg.Example:5000\":{\"username\":\"u2\",\"password\":\"p2\"}}}";
    RegistryCredentials c = RegistryCredentials.fromDockerConfigJson(json.getBytes(StandardCharsets.UTF_8), new ObjectMapper());
    assertThat(c.forRegistry("docker.io")).contains(new RegistryCredentials.Login("u1", "p:w"));
    assertThat(c.forRegistry("reg.example:5000")).contains(new RegistryCredentials.Login("u2", "p2"));
    assertThat(c.forRegistry("ghcr.io")).isEmpty();
    assertThat(c.forRegistry("docker.io").get().toString()).doesNotContain("p:w");
  }

  @Test
  void malformedDockerConfigJsonSaysWhatIsWrong() {
    ObjectMapper m = new ObjectMapper();
    assertThatThrownBy(() -> RegistryCredentials.fromDockerConfigJson("{}".getBytes(StandardCharsets.UTF_8), m))
        .hasMessageContaining("no \"auths\"");
    assertThatThrownBy(() -> RegistryCredentials.fromDockerConfigJson(
        "{\"auths\":{\"r.io\":{\"auth\":\"%%%\"}}}".getBytes(StandardCharsets.UTF_8), m))
        .hasMessageContaining("auths[\"r.io\"].auth is not base64");
    assertThatThrownBy(() -> RegistryCredentials.fromDockerConfigJson("not json".getBytes(StandardCharsets.UTF_8), m))
        .hasMessageContaining("is not JSON");
  }
}
