package dev.kcfs.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class NodeMainTest {
    @Test
    void endpointMustBeAnAbsoluteUnixSocket() {
        assertThat(NodeMain.socketOf("unix:///var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock"))
                .isEqualTo(Path.of("/var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock"));
        assertThatThrownBy(() -> NodeMain.socketOf("tcp://127.0.0.1:10000"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("only Unix sockets");
        assertThatThrownBy(() -> NodeMain.socketOf("unix://relative/csi.sock"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("absolute path");
        assertThatThrownBy(() -> NodeMain.socketOf("unix://"))
                .isInstanceOf(CommandLine.ParameterException.class);
    }

    @Test
    void defaultsSuitTheDaemonSet() {
        NodeMain main = new NodeMain();
        new CommandLine(main).parseArgs();
        assertThat(main.endpoint).isEqualTo("unix:///var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock");
        assertThat(main.store).isEqualTo(Path.of("/var/lib/kcfs"));
        assertThat(main.kubeletDir).isEqualTo(Path.of("/var/lib/kubelet"));
        assertThat(main.metricsPort).isEqualTo(9820);
    }
}
