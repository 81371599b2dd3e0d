package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class OperatorMainTest {
    /** {@code --lease-name} had none: every option says what it is for in {@code --help}. */
    @Test
    void everyOptionHasADescription() {
        for (CommandLine.Model.OptionSpec o :
                new CommandLine(new OperatorMain()).getCommandSpec().options()) {
            assertThat(String.join(" ", o.description())).as(o.longestName()).isNotBlank();
        }
    }

    /** Refused before any API call: the server would refuse each event (ComposefsImageReconcilerTest). */
    @Test
    void eventNamespaceOtherThanDefaultIsRefused() {
        StringWriter err = new StringWriter();
        int code =
                new CommandLine(new OperatorMain())
                        .setErr(new PrintWriter(err))
                        .execute("--no-leader-election", "--event-namespace", "kcfs-system");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString())
                .contains("--event-namespace 'kcfs-system'")
                .contains("only in 'default'");
    }
}
