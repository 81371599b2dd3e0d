package dev.kcfs.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelSelectorsTest {
    private static final Map<String, String> NODE = Map.of("zone", "a", "gpu", "h100");

    private static LabelSelector expr(String key, String op, String... values) {
        return new LabelSelectorBuilder()
                .addNewMatchExpression()
                .withKey(key)
                .withOperator(op)
                .withValues(values)
                .endMatchExpression()
                .build();
    }

    @Test
    void emptyOrAbsentSelectsEveryNode() {
        assertThat(LabelSelectors.matches(null, NODE)).isTrue();
        assertThat(LabelSelectors.matches(new LabelSelector(), NODE)).isTrue();
        assertThat(LabelSelectors.matches(new LabelSelector(), null)).isTrue();
    }

    @Test
    void matchLabelsAreAllRequired() {
        assertThat(
                        LabelSelectors.matches(
                                new LabelSelectorBuilder()
                                        .withMatchLabels(Map.of("zone", "a"))
                                        .build(),
                                NODE))
                .isTrue();
        assertThat(
                        LabelSelectors.matches(
                                new LabelSelectorBuilder()
                                        .withMatchLabels(Map.of("zone", "a", "gpu", "a100"))
                                        .build(),
                                NODE))
                .isFalse();
        assertThat(
                        LabelSelectors.matches(
                                new LabelSelectorBuilder()
                                        .withMatchLabels(Map.of("rack", "1"))
                                        .build(),
                                NODE))
                .isFalse();
    }

    @Test
    void setBasedExpressions() {
        assertThat(LabelSelectors.matches(expr("zone", "In", "a", "b"), NODE)).isTrue();
        assertThat(LabelSelectors.matches(expr("zone", "In", "b"), NODE)).isFalse();
        assertThat(LabelSelectors.matches(expr("rack", "In", "1"), NODE)).isFalse();
        assertThat(LabelSelectors.matches(expr("zone", "NotIn", "b"), NODE)).isTrue();
        assertThat(LabelSelectors.matches(expr("zone", "NotIn", "a"), NODE)).isFalse();
        assertThat(LabelSelectors.matches(expr("rack", "NotIn", "1"), NODE))
                .as("NotIn holds for an absent label")
                .isTrue();
        assertThat(LabelSelectors.matches(expr("gpu", "Exists"), NODE)).isTrue();
        assertThat(LabelSelectors.matches(expr("rack", "Exists"), NODE)).isFalse();
        assertThat(LabelSelectors.matches(expr("rack", "DoesNotExist"), NODE)).isTrue();
        assertThat(LabelSelectors.matches(expr("gpu", "DoesNotExist"), NODE)).isFalse();
        assertThat(LabelSelectors.matches(expr("zone", "Gt", "1"), NODE))
                .as("unknown operators select nothing")
                .isFalse();
    }

    @Test
    void labelsAndExpressionsCombine() {
        LabelSelector both =
                new LabelSelectorBuilder()
                        .withMatchLabels(Map.of("zone", "a"))
                        .addNewMatchExpression()
                        .withKey("gpu")
                        .withOperator("In")
                        .withValues("a100")
                        .endMatchExpression()
                        .build();
        assertThat(LabelSelectors.matches(both, NODE)).isFalse();
        assertThat(LabelSelectors.matches(both, Map.of("zone", "a", "gpu", "a100"))).isTrue();
    }
}
