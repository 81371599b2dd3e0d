package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.SourceSpec;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import org.junit.jupiter.api.Test;

class SpecCheckTest {
    @Test
    void specCheckRejectsBadSelectorsAndNamesTheField() {
        ComposefsImageSpec spec = new ComposefsImageSpec();
        spec.setSource(new SourceSpec("busybox:1"));
        spec.setNodeSelector(
                new LabelSelectorBuilder()
                        .addNewMatchExpression()
                        .withKey("zone")
                        .withOperator("Has")
                        .endMatchExpression()
                        .addNewMatchExpression()
                        .withKey("gpu")
                        .withOperator("In")
                        .endMatchExpression()
                        .build());
        spec.setFormatVersion(2);
        assertThat(SpecCheck.problems(spec))
                .containsExactly(
                        "spec.formatVersion 2 is not supported: use a version from 0 to 1",
                        "spec.nodeSelector.matchExpressions[0].operator 'Has' must be one of In, NotIn, Exists, DoesNotExist",
                        "spec.nodeSelector.matchExpressions[1]: operator In needs values");
    }
}
