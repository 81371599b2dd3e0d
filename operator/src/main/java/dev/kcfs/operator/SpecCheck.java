package dev.kcfs.operator;

import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.SecretRef;
import dev.kcfs.api.SourceSpec;
import dev.kcfs.image.erofs.ErofsFormat;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Re-checks what the CRD schema enforces, with the same patterns. Needed because objects can predate a
 * schema change, API servers without the CRD schema (the test mock) accept anything, and a bad spec
 * must become a condition, never an exception that sends the reconciler into a retry loop.
 */
final class SpecCheck {
    private static final Pattern IMAGE = Pattern.compile(SourceSpec.IMAGE_PATTERN);
    private static final Pattern PLATFORM = Pattern.compile(SourceSpec.PLATFORM_PATTERN);
    private static final Pattern DIGEST = Pattern.compile(ComposefsImageSpec.DIGEST_PATTERN);
    private static final Pattern NAMESPACE = Pattern.compile(SecretRef.NAMESPACE_PATTERN);
    private static final Pattern SECRET_NAME = Pattern.compile(SecretRef.NAME_PATTERN);
    private static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

    private SpecCheck() {}

    /** Every problem found, each naming the field, what is wrong and what is allowed; empty when valid. */
    static List<String> problems(ComposefsImageSpec spec) {
        List<String> out = new ArrayList<>();
        if (spec == null) {
            out.add("spec is missing: set spec.source.image");
            return out;
        }
        SourceSpec source = spec.getSource();
        if (source == null || source.getImage() == null || source.getImage().isEmpty()) {
            out.add(
                    "spec.source.image is required: set it to registry/repository:tag or repository@sha256:<64 hex>");
        } else if (!IMAGE.matcher(source.getImage()).matches()) {
            out.add(
                    "spec.source.image '"
                            + source.getImage()
                            + "' is not an image reference (registry/repository:tag or @sha256:<64 hex>, lowercase repository)");
        }
        if (source != null
                && source.getPlatform() != null
                && !PLATFORM.matcher(source.getPlatform()).matches()) {
            out.add(
                    "spec.source.platform '"
                            + source.getPlatform()
                            + "' must look like os/arch[/variant], e.g. linux/amd64");
        }
        if (source != null && source.getPullSecrets() != null) {
            for (int i = 0; i < source.getPullSecrets().size(); i++) {
                SecretRef ref = source.getPullSecrets().get(i);
                String at = "spec.source.pullSecrets[" + i + "]";
                if (ref == null
                        || ref.getNamespace() == null
                        || !NAMESPACE.matcher(ref.getNamespace()).matches()) {
                    out.add(at + ".namespace must be a namespace name");
                }
                if (ref == null
                        || ref.getName() == null
                        || !SECRET_NAME.matcher(ref.getName()).matches()) {
                    out.add(at + ".name must be a Secret name");
                }
            }
        }
        if (spec.getExpectedDigest() != null
                && !DIGEST.matcher(spec.getExpectedDigest()).matches()) {
            out.add(
                    "spec.expectedDigest '"
                            + spec.getExpectedDigest()
                            + "' must be 64 lowercase hex digits (a composefs image fs-verity digest)");
        }
        if (spec.getFormatVersion() != null
                && !ErofsFormat.isSupportedFormatVersion(spec.getFormatVersion())) {
            out.add(
                    "spec.formatVersion "
                            + spec.getFormatVersion()
                            + " is not supported: use a version from "
                            + ErofsFormat.MIN_FORMAT_VERSION
                            + " to "
                            + ErofsFormat.MAX_FORMAT_VERSION);
        }
        if (spec.getAllowedNamespaces() != null) {
            for (String ns : spec.getAllowedNamespaces()) {
                if (ns == null || !NAMESPACE.matcher(ns).matches()) {
                    out.add("spec.allowedNamespaces entry '" + ns + "' is not a namespace name");
                }
            }
        }
        LabelSelector sel = spec.getNodeSelector();
        if (sel != null && sel.getMatchExpressions() != null) {
            for (int i = 0; i < sel.getMatchExpressions().size(); i++) {
                LabelSelectorRequirement r = sel.getMatchExpressions().get(i);
                String at = "spec.nodeSelector.matchExpressions[" + i + "]";
                if (r.getKey() == null || r.getKey().isEmpty()) {
                    out.add(at + ".key is required");
                }
                if (r.getOperator() == null || !OPERATORS.contains(r.getOperator())) {
                    out.add(
                            at
                                    + ".operator '"
                                    + r.getOperator()
                                    + "' must be one of In, NotIn, Exists, DoesNotExist");
                } else {
                    boolean hasValues = r.getValues() != null && !r.getValues().isEmpty();
                    boolean needsValues =
                            r.getOperator().equals("In") || r.getOperator().equals("NotIn");
                    if (needsValues && !hasValues) {
                        out.add(at + ": operator " + r.getOperator() + " needs values");
                    } else if (!needsValues && hasValues) {
                        out.add(at + ": operator " + r.getOperator() + " takes no values");
                    }
                }
            }
        }
        return out;
    }
}
