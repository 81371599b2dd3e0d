package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.mount.MountTable;
import dev.kcfs.testing.Root;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod (or anyone who can write under the kubelet dir) swaps a directory on the target's path for
 * a symlink while kcfs publishes or unpublishes: no mount may land outside the kubelet dir, and
 * unpublish may not report success while the volume's mount is still there.
 */
@Tag("root")
class TargetSwapRaceTest {
    @TempDir Path tmp;
    CsiTestNode node;
    Path outside;

    @BeforeEach
    void start() throws IOException {
        Root.assumeRoot();
        node = CsiTestNode.overTmpfs(tmp, "tools").start();
        outside = Files.createDirectories(tmp.resolve("outside"));
    }

    @AfterEach
    void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private List<Path> mountsOutside() {
        return MountTable.read().entries().stream()
                .map(MountTable.Entry::mountPoint)
                .filter(p -> p.startsWith(outside))
                .toList();
    }

    @Test
    void aSymlinkSwappedInDuringPublishNeverMountsOutsideTheKubeletDir() throws Exception {
        int pods = 150;
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger swaps = new AtomicInteger();
        List<Path> targets = new ArrayList<>();
        List<Path> podDirs = new ArrayList<>();
        for (int i = 0; i < pods; i++) {
            Path volumes = node.kubelet.resolve("pods/pod-" + i + "/volumes");
            Files.createDirectories(volumes.resolve("kubernetes.io~csi/tools"));
            // what the symlink leads to: the same layout outside the kubelet dir
            Files.createDirectories(outside.resolve("pod-" + i + "/kubernetes.io~csi/tools/mount"));
            podDirs.add(volumes);
            targets.add(volumes.resolve("kubernetes.io~csi/tools/mount"));
        }
        AtomicInteger current = new AtomicInteger();
        Thread swapper =
                new Thread(
                        () -> {
                            while (running.get()) {
                                int i = current.get();
                                Path volumes = podDirs.get(i);
                                Path aside = volumes.resolveSibling("volumes.real");
                                try {
                                    Files.move(volumes, aside);
                                    Files.createSymbolicLink(volumes, outside.resolve("pod-" + i));
                                    swaps.incrementAndGet();
                                    Thread.onSpinWait();
                                    Files.delete(volumes);
                                    Files.move(aside, volumes);
                                } catch (IOException e) {
                                    // a publish or a test step holds it; try again
                                }
                            }
                        },
                        "symlink-swapper");
        swapper.start();
        List<Path> escaped = new ArrayList<>();
        int published = 0;
        try {
            for (int i = 0; i < pods; i++) {
                current.set(i);
                try {
                    node.node()
                            .nodePublishVolume(
                                    publish("vol-" + i, targets.get(i), "tools").build());
                    published++;
                } catch (StatusRuntimeException e) {
                    // refused because of the swap: fine, kubelet would retry
                }
                escaped.addAll(mountsOutside());
            }
        } finally {
            running.set(false);
            swapper.join();
        }
        assertThat(escaped)
                .as("mounts outside the kubelet dir after %d swaps", swaps.get())
                .isEmpty();
        assertThat(swaps.get()).as("the swapper raced the publishes").isGreaterThan(pods);
        // every volume that was published is where it belongs, and unpublishes cleanly
        for (int i = 0; i < pods; i++) {
            Path volumes = podDirs.get(i);
            Path aside = volumes.resolveSibling("volumes.real");
            if (Files.isSymbolicLink(volumes)) {
                Files.delete(volumes);
                Files.move(aside, volumes);
            }
            node.node().nodeUnpublishVolume(unpublish("vol-" + i, targets.get(i)));
        }
        assertThat(published).isPositive();
        assertThat(
                        MountTable.read().entries().stream()
                                .filter(
                                        e ->
                                                e.mountPoint().startsWith(tmp)
                                                        && !e.mountPoint().startsWith(node.store)))
                .isEmpty();
    }

    @Test
    void unpublishDoesNotReportSuccessWhileTheMountIsElsewhere() throws Exception {
        Path target = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());
        // the pod's volume dir moves away and a symlink takes its place
        Path volumes = node.kubelet.resolve("pods/pod-a/volumes");
        Path aside = volumes.resolveSibling("volumes.real");
        Files.move(volumes, aside);

        Files.createDirectories(outside.resolve("pod-a/kubernetes.io~csi/tools/mount"));
        Files.createSymbolicLink(volumes, outside.resolve("pod-a"));
        assertThatThrownBy(() -> node.node().nodeUnpublishVolume(unpublish("vol-a", target)))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode())
                                    .isEqualTo(Status.Code.INVALID_ARGUMENT);
                            assertThat(e.getStatus().getDescription())
                                    .contains("leads out of the kubelet directory");
                        });

        // a symlink that stays inside the kubelet dir passes the path check, but not the walk
        Path elsewhere =
                Files.createDirectories(
                        node.kubelet.resolve("pods/pod-b/volumes/kubernetes.io~csi/tools/mount"));
        Files.delete(volumes);
        Files.createSymbolicLink(volumes, node.kubelet.resolve("pods/pod-b/volumes"));
        assertThatThrownBy(() -> node.node().nodeUnpublishVolume(unpublish("vol-a", target)))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
                            assertThat(e.getStatus().getDescription())
                                    .contains("still at " + aside);
                        });
        assertThat(MountTable.read().isMountPoint(aside.resolve("kubernetes.io~csi/tools/mount")))
                .isTrue();
        assertThat(MountTable.read().isMountPoint(elsewhere)).isFalse();
        assertThat(mountsOutside()).isEmpty();

        Files.delete(volumes);
        Files.move(aside, volumes);
        node.node().nodeUnpublishVolume(unpublish("vol-a", target));
        assertThat(MountTable.read().isMountPoint(target)).isFalse();
    }
}
