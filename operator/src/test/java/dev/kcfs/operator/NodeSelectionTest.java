package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ImageSource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeSelectionTest {
  private static final Map<String, String> GPU_A = Map.of("zone", "a", "gpu", "true");
  private static final Map<String, String> CPU_B = Map.of("zone", "b");

  @Test
  void emptySelectorSelectsEveryNode() {
    assertThat(NodeSelection.matches(null, CPU_B)).isTrue();
    assertThat(NodeSelection.matches(new LabelSelector(), null)).isTrue();
  }

  @Test
  void matchLabelsAndEveryOperator() {
    LabelSelector zoneA = new LabelSelectorBuilder().withMatchLabels(Map.of("zone", "a")).build();
    assertThat(NodeSelection.matches(zoneA, GPU_A)).isTrue();
    assertThat(NodeSelection.matches(zoneA, CPU_B)).isFalse();
    assertThat(NodeSelection.matches(expr("zone", "In", "b", "c"), CPU_B)).isTrue();
    assertThat(NodeSelection.matches(expr("zone", "In", "b", "c"), GPU_A)).isFalse();
    assertThat(NodeSelection.matches(expr("zone", "NotIn", "a"), CPU_B)).isTrue();
    assertThat(NodeSelection.matches(expr("zone", "NotIn", "a"), GPU_A)).isFalse();
    assertThat(NodeSelection.matches(expr("rack", "NotIn", "r1"), GPU_A)).as("absent key is not in the set").isTrue();
    assertThat(NodeSelection.matches(expr("gpu", "Exists"), GPU_A)).isTrue();
    assertThat(NodeSelection.matches(expr("gpu", "Exists"), CPU_B)).isFalse();
    assertThat(NodeSelection.matches(expr("gpu", "DoesNotExist"), CPU_B)).isTrue();
  }

  @Test
  void specCheckRejectsBadSelectorsAndNamesTheField() {
    ComposefsImageSpec spec = new ComposefsImageSpec();
    spec.setSource(new ImageSource("busybox:1"));
    spec.setNodeSelector(new LabelSelectorBuilder().addNewMatchExpression().withKey("zone").withOperator("Has")
        .endMatchExpression().addNewMatchExpression().withKey("gpu").withOperator("In").endMatchExpression().build());
    spec.setFormatVersion(2);
    assertThat(SpecCheck.problems(spec)).containsExactly(
        "spec.formatVersion 2 is not supported: use 0 or 1",
        "spec.nodeSelector.matchExpressions[0].operator 'Has' must be one of In, NotIn, Exists, DoesNotExist",
        "spec.nodeSelector.matchExpressions[1]: operator In needs values");
  }

  private static LabelSelector expr(String key, String op, String... values) {
    return new LabelSelectorBuilder().addNewMatchExpression().withKey(key).withOperator(op).withValues(values)
        .endMatchExpression().build();
  }
}
