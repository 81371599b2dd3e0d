package dev.kcfs.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.mount.VerityMode;
import org.junit.jupiter.api.Test;

class VerityTest {
    @Test
    void eachSpecValueHasOneMountMode() {
        assertThat(Verity.Required.mode()).isEqualTo(VerityMode.REQUIRED);
        assertThat(Verity.IfSupported.mode()).isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(Verity.Disabled.mode()).isEqualTo(VerityMode.OFF);
    }

    @Test
    void aRequiredNodeIsAFloorOverEverySpec() {
        for (Verity spec : Verity.values()) {
            assertThat(Verity.effectiveMode(VerityMode.REQUIRED, spec))
                    .isEqualTo(VerityMode.REQUIRED);
        }
        assertThat(Verity.effectiveMode(VerityMode.REQUIRED, null)).isEqualTo(VerityMode.REQUIRED);
    }

    @Test
    void otherwiseTheSpecDecidesAndTheNodeOnlyStandsInForAnUnknownSpec() {
        for (VerityMode node : new VerityMode[] {VerityMode.OFF, VerityMode.IF_SUPPORTED}) {
            assertThat(Verity.effectiveMode(node, Verity.Required)).isEqualTo(VerityMode.REQUIRED);
            assertThat(Verity.effectiveMode(node, Verity.IfSupported))
                    .isEqualTo(VerityMode.IF_SUPPORTED);
            assertThat(Verity.effectiveMode(node, Verity.Disabled)).isEqualTo(VerityMode.OFF);
            assertThat(Verity.effectiveMode(node, null)).isEqualTo(node);
        }
    }

    @Test
    void settingsReadInEitherSpellingIgnoringCase() {
        assertThat(Verity.parseMode("REQUIRED")).isEqualTo(VerityMode.REQUIRED);
        assertThat(Verity.parseMode("Required")).isEqualTo(VerityMode.REQUIRED);
        assertThat(Verity.parseMode("IF_SUPPORTED")).isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(Verity.parseMode("IfSupported")).isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(Verity.parseMode("ifsupported")).isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(Verity.parseMode("OFF")).isEqualTo(VerityMode.OFF);
        assertThat(Verity.parseMode("off")).isEqualTo(VerityMode.OFF);
        assertThat(Verity.parseMode("Disabled")).isEqualTo(VerityMode.OFF);
    }

    @Test
    void anUnknownSettingIsRefusedWithTheSpellingsNamed() {
        assertThatThrownBy(() -> Verity.parseMode("SOMETIMES"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'SOMETIMES' is not a verity setting")
                .hasMessageContaining("Required, IfSupported, Disabled")
                .hasMessageContaining("REQUIRED, IF_SUPPORTED, OFF");
        assertThatThrownBy(() -> Verity.parseMode("If_Supported_Please"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Verity.parseMode("")).isInstanceOf(IllegalArgumentException.class);
    }
}
