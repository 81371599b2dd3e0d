package dev.kcfs.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.kcfs.image.erofs.ErofsFormat;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.LabelSelector;
import java.util.ArrayList;
import java.util.List;

/** What to prebuild and where. The API server enforces the annotations; the operator re-checks them. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ComposefsImageSpec {
    /** A lowercase hex SHA-256, as composefs image digests are written. */
    public static final String DIGEST_PATTERN = "^[0-9a-f]{64}$";

    @Required private SourceSpec source;

    /** Empty or absent: every node running the plugin. */
    private LabelSelector nodeSelector;

    @Default("IfSupported")
    private Verity verity;

    @Pattern(DIGEST_PATTERN)
    private String expectedDigest;

    /** Composefs format version of the image built; absent: {@link ErofsFormat#DEFAULT_FORMAT_VERSION}. */
    @Min(ErofsFormat.MIN_FORMAT_VERSION)
    @Max(ErofsFormat.MAX_FORMAT_VERSION)
    private Integer formatVersion;

    /** Namespaces whose pods may mount the image; empty = all. */
    private List<String> allowedNamespaces = new ArrayList<>();

    public SourceSpec getSource() {
        return source;
    }

    public void setSource(SourceSpec source) {
        this.source = source;
    }

    public LabelSelector getNodeSelector() {
        return nodeSelector;
    }

    public void setNodeSelector(LabelSelector nodeSelector) {
        this.nodeSelector = nodeSelector;
    }

    public Verity getVerity() {
        return verity;
    }

    public void setVerity(Verity verity) {
        this.verity = verity;
    }

    public String getExpectedDigest() {
        return expectedDigest;
    }

    public void setExpectedDigest(String expectedDigest) {
        this.expectedDigest = expectedDigest;
    }

    public Integer getFormatVersion() {
        return formatVersion;
    }

    public void setFormatVersion(Integer formatVersion) {
        this.formatVersion = formatVersion;
    }

    public List<String> getAllowedNamespaces() {
        return allowedNamespaces;
    }

    public void setAllowedNamespaces(List<String> allowedNamespaces) {
        this.allowedNamespaces = allowedNamespaces;
    }
}
