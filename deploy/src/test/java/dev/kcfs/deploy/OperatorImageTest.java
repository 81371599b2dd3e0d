package dev.kcfs.deploy;

import static dev.kcfs.deploy.ImageProcesses.freePort;
import static dev.kcfs.deploy.ImageProcesses.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kcfs.testing.Root;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator image runs: started in a chroot of the root filesystem unpacked from the OCI image
 * tar Jib wrote (kcfs.operator.image), as the image's non-root user, its entrypoint gets as far as
 * the first API call. The tar is built only with {@code -Pimages}; without it the test is skipped.
 */
@Tag("root")
class OperatorImageTest {
    @TempDir Path work;

    /**
     * The operator image starts its JVM with everything fabric8 and JOSDK load up to the first API
     * call (TLS, JSON, logging), and exits with its message when no API server answers.
     */
    @Test
    void operatorImageStartsAndExplainsAMissingApiServer() throws Exception {
        Root.assumeRoot();
        String imageTar = System.getProperty("kcfs.operator.image");
        assumeTrue(
                imageTar != null && Files.isRegularFile(Path.of(imageTar)),
                "skipped: the operator image is built only with -Pimages");
        OciLayout.Unpacked image = OciLayout.unpack(Path.of(imageTar), work.resolve("operator"));
        Path tmp = Files.createDirectories(work.resolve("operator-tmp"));
        List<String> command =
                new ArrayList<>(
                        List.of(
                                "unshare",
                                "--mount",
                                "--propagation",
                                "private",
                                "sh",
                                "-c",
                                "set -e; root=$1; tmp=$2; shift 2; mount -t proc proc \"$root/proc\"; mount --bind \"$tmp\" \"$root/tmp\";"
                                        // nothing listens on port 1: the first API call fails at
                                        // once
                                        + " exec env -i KUBERNETES_MASTER=https://127.0.0.1:1 KUBERNETES_AUTH_TRYKUBECONFIG=false"
                                        + " KUBERNETES_AUTH_TRYSERVICEACCOUNT=false KUBERNETES_REQUEST_RETRY_BACKOFFLIMIT=0 \"$(command -v chroot)\" --userspec=65532:65532 \"$root\" \"$@\"",
                                "sh",
                                image.root().toString(),
                                tmp.toString()));
        command.addAll(image.entrypoint());
        command.addAll(
                List.of("--no-leader-election", "--metrics-address", "127.0.0.1:" + freePort()));
        Path log = work.resolve("operator.log");
        Process operator =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        if (!operator.waitFor(90, TimeUnit.SECONDS)) {
            operator.destroyForcibly();
            throw new AssertionError(
                    "the operator did not give up on a missing API server:\n" + read(log));
        }
        assertThat(operator.exitValue()).as(read(log)).isEqualTo(1);
        assertThat(read(log))
                .contains(
                        "kcfs-operator: cannot start against the Kubernetes API at https://127.0.0.1:1");
    }
}
