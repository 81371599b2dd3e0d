package dev.kcfs.kube;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;

/**
 * Evaluates a {@code ComposefsImage}'s {@code spec.nodeSelector} against a node's labels in memory,
 * for the operator (which nodes are desired) and the node agent (whether to build) alike.
 * Hand-written: fabric8 has no public in-memory matcher, both decide from watch caches, and the API
 * mock ignores set-based selectors anyway. Unknown operators match nothing, so a selector kcfs does
 * not understand never makes a node build an image it was not meant to.
 */
public final class LabelSelectors {
    private LabelSelectors() {}

    /** A null or empty selector selects every node. */
    public static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null) {
            return true;
        }
        Map<String, String> l = labels == null ? Map.of() : labels;
        if (selector.getMatchLabels() != null) {
            for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
                if (!e.getValue().equals(l.get(e.getKey()))) {
                    return false;
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                if (!matches(r, l.get(r.getKey()))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean matches(LabelSelectorRequirement r, String value) {
        List<String> values = r.getValues() == null ? List.of() : r.getValues();
        String op = r.getOperator() == null ? "" : r.getOperator();
        switch (op) {
            case "In":
                return value != null && values.contains(value);
            case "NotIn":
                return value == null || !values.contains(value);
            case "Exists":
                return value != null;
            case "DoesNotExist":
                return value == null;
            default:
                return false;
        }
    }
}
