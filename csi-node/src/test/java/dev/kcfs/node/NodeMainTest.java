package dev.kcfs.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.mount.VerityMode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class NodeMainTest {
    @Test
    void endpointMustBeAnAbsoluteUnixSocket() {
        assertThat(NodeMain.socketOf("unix:///var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock"))
                .isEqualTo(Path.of("/var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock"));
        assertThatThrownBy(() -> NodeMain.socketOf("tcp://127.0.0.1:10000"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("only Unix sockets");
        assertThatThrownBy(() -> NodeMain.socketOf("unix://relative/csi.sock"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("absolute path");
        assertThatThrownBy(() -> NodeMain.socketOf("unix://"))
                .isInstanceOf(CommandLine.ParameterException.class);
    }

    @Test
    void defaultsSuitTheDaemonSet() {
        NodeMain main = new NodeMain();
        new CommandLine(main).parseArgs();
        assertThat(main.endpoint)
                .isEqualTo("unix:///var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock");
        assertThat(main.store).isEqualTo(Path.of("/var/lib/kcfs"));
        assertThat(main.kubeletDir).isEqualTo(Path.of("/var/lib/kubelet"));
        assertThat(main.metricsPort).isEqualTo(9820);
        assertThat(main.verity).isEqualTo(VerityMode.IF_SUPPORTED);
    }

    @Test
    void verityTakesTheNodeOrTheSpecSpellingInAnyCase() {
        assertThat(verityOf("REQUIRED")).isEqualTo(VerityMode.REQUIRED);
        assertThat(verityOf("Required")).isEqualTo(VerityMode.REQUIRED);
        assertThat(verityOf("IF_SUPPORTED")).isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(verityOf("IfSupported")).isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(verityOf("OFF")).isEqualTo(VerityMode.OFF);
        assertThat(verityOf("disabled")).isEqualTo(VerityMode.OFF);
        assertThatThrownBy(() -> verityOf("SOMETIMES"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("'SOMETIMES' is not a verity setting");
    }

    private static VerityMode verityOf(String value) {
        NodeMain main = new NodeMain();
        new CommandLine(main).parseArgs("--verity", value);
        return main.verity;
    }

    @Test
    void agentOptions() {
        NodeMain main = new NodeMain();
        new CommandLine(main).parseArgs();
        assertThat(main.noAgent).isFalse();
        assertThat(main.cacheMaxBytes).isZero();
        assertThat(main.buildConcurrency).isEqualTo(2);
        assertThat(main.kubeconfig).isNull();

        NodeMain set = new NodeMain();
        new CommandLine(set)
                .parseArgs(
                        "--cache-max-bytes",
                        "20G",
                        "--build-concurrency",
                        "4",
                        "--kubeconfig",
                        "/etc/kc",
                        "--plain-http-registry",
                        "mirror.local:5000",
                        "--no-agent");
        assertThat(set.cacheMaxBytes).isEqualTo(20L << 30);
        assertThat(set.buildConcurrency).isEqualTo(4);
        assertThat(set.kubeconfig).isEqualTo(Path.of("/etc/kc"));
        assertThat(set.plainHttpRegistries).containsExactly("mirror.local:5000");
        assertThat(set.noAgent).isTrue();
    }

    @Test
    void cacheSizesTakeBinarySuffixes() {
        NodeMain.ByteSize size = new NodeMain.ByteSize();
        assertThat(size.convert("1073741824")).isEqualTo(1L << 30);
        assertThat(size.convert("512M")).isEqualTo(512L << 20);
        assertThat(size.convert("64KiB")).isEqualTo(64L << 10);
        assertThat(size.convert("2t")).isEqualTo(2L << 40);
        assertThat(size.convert("0")).isZero();
        assertThatThrownBy(() -> size.convert("lots"))
                .isInstanceOf(CommandLine.TypeConversionException.class)
                .hasMessageContaining("'lots' is not a size");
        assertThatThrownBy(() -> size.convert("-1G"))
                .isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> size.convert("99999999999T"))
                .isInstanceOf(CommandLine.TypeConversionException.class);
    }
}
