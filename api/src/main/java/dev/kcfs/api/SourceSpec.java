package dev.kcfs.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.kcfs.oci.ImageReference;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;

/** {@code spec.source} of a ComposefsImage: where the image comes from (an OCI reference, the secrets to pull it, and the platform). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SourceSpec {
    /**
     * An image reference: optional registry host[:port], a lowercase repository path, then a tag, a
     * sha256 digest, or both. Kept as one constant so the CRD schema and the operator's own check agree;
     * the repository and tag grammar is {@link ImageReference}'s, the parser the operator and nodes use.
     */
    public static final String IMAGE_PATTERN =
            "^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
                    + ImageReference.REPOSITORY_PATTERN
                    + "(?::"
                    + ImageReference.TAG_PATTERN
                    + ")?(?:@sha256:[a-f0-9]{64})?$";

    /** os/arch[/variant], as in OCI image indexes. */
    public static final String PLATFORM_PATTERN = "^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$";

    @Required
    @Pattern(IMAGE_PATTERN)
    private String image;

    private List<SecretRef> pullSecrets = new ArrayList<>();

    /** Absent: each node's own platform. */
    @Pattern(PLATFORM_PATTERN)
    private String platform;

    public SourceSpec() {}

    public SourceSpec(String image) {
        this.image = image;
    }

    public String getImage() {
        return image;
    }

    public void setImage(String image) {
        this.image = image;
    }

    public List<SecretRef> getPullSecrets() {
        return pullSecrets;
    }

    public void setPullSecrets(List<SecretRef> pullSecrets) {
        this.pullSecrets = pullSecrets;
    }

    public String getPlatform() {
        return platform;
    }

    public void setPlatform(String platform) {
        this.platform = platform;
    }
}
