package dev.kcfs.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.image.erofs.ErofsFormat;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The generated CRDs carry the validation, scope and printer columns users rely on (README, 'ComposefsImage'). */
class GeneratedCrdTest {
    private static final String SHA =
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static CustomResourceDefinition crd(String file) throws IOException {
        try (InputStream in =
                Files.newInputStream(Path.of(System.getProperty("kcfs.crds.dir"), file))) {
            return Serialization.unmarshal(in, CustomResourceDefinition.class);
        }
    }

    @Test
    void imageCrdIsClusterScopedWithValidationAndColumns() throws IOException {
        CustomResourceDefinition crd = crd("composefsimages.kcfs.dev-v1.yml");
        assertThat(crd.getSpec().getScope()).isEqualTo("Cluster");
        assertThat(crd.getSpec().getGroup()).isEqualTo("kcfs.dev");
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("cfsimage");
        CustomResourceDefinitionVersion v = crd.getSpec().getVersions().get(0);
        assertThat(v.getName()).isEqualTo("v1alpha1");
        assertThat(v.getSubresources().getStatus()).isNotNull();
        assertThat(
                        v.getAdditionalPrinterColumns().stream()
                                .map(c -> c.getName())
                                .collect(Collectors.toList()))
                .containsExactlyInAnyOrder("IMAGE", "DIGEST", "READY", "AGE");

        JSONSchemaProps spec = v.getSchema().getOpenAPIV3Schema().getProperties().get("spec");
        assertThat(spec.getRequired()).containsExactly("source");
        assertThat(spec.getProperties().get("verity").getEnum().stream().map(n -> n.asText()))
                .containsExactlyInAnyOrder("Required", "IfSupported", "Disabled");
        assertThat(spec.getProperties().get("verity").getDefault().asText())
                .isEqualTo("IfSupported");
        assertThat(spec.getProperties().get("expectedDigest").getPattern())
                .isEqualTo("^[0-9a-f]{64}$");
        assertThat(spec.getProperties().get("formatVersion").getMinimum())
                .as("the range core reads and writes")
                .isEqualTo((double) ErofsFormat.MIN_FORMAT_VERSION);
        assertThat(spec.getProperties().get("formatVersion").getMaximum())
                .isEqualTo((double) ErofsFormat.MAX_FORMAT_VERSION);
        JSONSchemaProps source = spec.getProperties().get("source");
        assertThat(source.getRequired()).containsExactly("image");
        assertThat(source.getProperties().get("image").getPattern())
                .isEqualTo(SourceSpec.IMAGE_PATTERN);
        assertThat(source.getProperties().get("pullSecrets").getItems().getSchema().getRequired())
                .containsExactlyInAnyOrder("namespace", "name");
    }

    @Test
    void nodeCrdIsClusterScopedWithColumns() throws IOException {
        CustomResourceDefinition crd = crd("composefsnodes.kcfs.dev-v1.yml");
        assertThat(crd.getSpec().getScope()).isEqualTo("Cluster");
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("cfsnode");
        CustomResourceDefinitionVersion v = crd.getSpec().getVersions().get(0);
        assertThat(v.getSubresources().getStatus()).isNotNull();
        assertThat(
                        v.getAdditionalPrinterColumns().stream()
                                .map(c -> c.getName())
                                .collect(Collectors.toList()))
                .containsExactlyInAnyOrder("IMAGES", "OBJECTS", "DISK", "SAVED", "VERITY", "AGE");
        JSONSchemaProps image =
                v.getSchema()
                        .getOpenAPIV3Schema()
                        .getProperties()
                        .get("status")
                        .getProperties()
                        .get("images")
                        .getItems()
                        .getSchema();
        assertThat(image.getProperties().get("state").getEnum().stream().map(n -> n.asText()))
                .containsExactlyInAnyOrder("Pending", "Building", "Ready", "Failed");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "busybox",
                "busybox:1.36",
                "docker.io/library/busybox:1.36",
                "127.0.0.1:5000/kcfs/tiny:v1",
                "localhost/a/b_c/d__e/f-g:Tag_1.x",
                "ghcr.io/org/repo@" + SHA,
                "reg.example:443/r:t@" + SHA
            })
    void imagePatternAcceptsReferences(String ref) {
        assertThat(Pattern.compile(SourceSpec.IMAGE_PATTERN).matcher(ref).matches())
                .as(ref)
                .isTrue();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "Upper/Case",
                "repo:",
                "repo@sha256:abc",
                "https://ghcr.io/a/b",
                "a//b",
                "-lead/x",
                "repo:-tag",
                "repo@" + SHA + ":tag",
                "a b"
            })
    void imagePatternRejectsNonReferences(String ref) {
        assertThat(Pattern.compile(SourceSpec.IMAGE_PATTERN).matcher(ref).matches())
                .as(ref)
                .isFalse();
    }
}
