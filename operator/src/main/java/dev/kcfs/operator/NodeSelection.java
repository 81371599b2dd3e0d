package dev.kcfs.operator;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.Map;

/**
 * Evaluates a LabelSelector against a Node's labels in memory. Hand-written: fabric8 has no public
 * in-memory matcher, and the operator must count matching nodes from its cache on every reconcile
 * instead of asking the API server (set-based selectors are also ignored by the test mock server).
 * Assumes the selector passed {@link SpecCheck}.
 */
final class NodeSelection {
  private NodeSelection() {}

  /** A null or empty selector selects every node. */
  static boolean matches(LabelSelector selector, Map<String, String> labels) {
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
        String value = l.get(r.getKey());
        boolean ok;
        switch (r.getOperator()) {
          case "In":
            ok = value != null && r.getValues().contains(value);
            break;
          case "NotIn":
            ok = value == null || !r.getValues().contains(value);
            break;
          case "Exists":
            ok = value != null;
            break;
          case "DoesNotExist":
            ok = value == null;
            break;
          default:
            ok = false;
        }
        if (!ok) {
          return false;
        }
      }
    }
    return true;
  }
}
