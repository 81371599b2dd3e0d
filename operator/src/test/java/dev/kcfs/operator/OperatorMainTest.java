package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import picocli.CommandLine;
import org.junit.jupiter.api.Test;

class OperatorMainTest {
    /** {@code --lease-name} had none: every option says what it is for in {@code --help}. */
    @Test
    void everyOptionHasADescription() {
        for (CommandLine.Model.OptionSpec o : new CommandLine(new OperatorMain()).getCommandSpec().options()) {
            assertThat(String.join(" ", o.description())).as(o.longestName()).isNotBlank();
        }
    }
}
