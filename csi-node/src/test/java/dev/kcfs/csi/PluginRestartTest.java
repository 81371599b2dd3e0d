package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.publishWritable;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.mount.KernelMounts;
import dev.kcfs.mount.MountTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The plugin restarted with volumes mounted, after a crash, or with lost records: state rebuilt from the mount table, leftovers cleaned, volumes untouched; a graceful stop finishes running calls. */
@Tag("root")
class PluginRestartTest extends CsiNodeTest {
    PluginRestartTest() {
        super("tools", "python-3-12");
    }

    @Test
    void restartRebuildsStateFromTheMountTableWithoutTouchingVolumes() throws Exception {
        Path ro = node.target("pod-ro");
        Path rw = node.target("pod-rw");
        Path other = node.target("pod-other");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        node.node().nodePublishVolume(publishWritable("vol-rw", rw, "tools").build());
        node.node().nodePublishVolume(publish("vol-other", other, "python-3-12").build());
        Files.writeString(rw.resolve("state.txt"), "survives the restart");
        var before =
                MountTable.read().entries().stream()
                        .filter(e -> e.mountPoint().startsWith(tmp))
                        .toList();

        node.restart();

        var after =
                MountTable.read().entries().stream()
                        .filter(e -> e.mountPoint().startsWith(tmp))
                        .toList();
        assertThat(after).as("restart neither adds nor removes mounts").isEqualTo(before);
        assertThat(node.plugin.recovery().publicationsRestored()).isEqualTo(3);
        assertThat(node.plugin.recovery().sharedMountsKept()).isEqualTo(2);
        assertThat(node.plugin.volumes().sharedUsers(TmpfsImages.digestOf("tools"))).isEqualTo(2);
        assertThat(Files.readString(rw.resolve("state.txt"))).isEqualTo("survives the restart");

        // the same publish again is recognised; a different one is refused
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        PublishTest.assertCode(
                () -> node.node().nodePublishVolume(publish("vol-ro", ro, "python-3-12").build()),
                io.grpc.Status.Code.ALREADY_EXISTS,
                "differs");
        // new publishes share the existing mount
        Path fresh = node.target("pod-new");
        node.node().nodePublishVolume(publish("vol-new", fresh, "tools").build());
        assertThat(images.mounts.get()).as("no new shared mount after restart").isEqualTo(2);
        assertThat(Files.readString(fresh.resolve("hello.txt")))
                .isEqualTo(TmpfsImages.hello("tools"));

        Path toolsShared =
                node.store.resolve("mounts").resolve(TmpfsImages.digestOf("tools").hex());
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
        node.node().nodeUnpublishVolume(unpublish("vol-rw", rw));
        assertThat(MountTable.read().isMountPoint(toolsShared)).isTrue();
        node.node().nodeUnpublishVolume(unpublish("vol-new", fresh));
        assertThat(MountTable.read().isMountPoint(toolsShared)).as("last user gone").isFalse();
        node.node().nodeUnpublishVolume(unpublish("vol-other", other));
        assertThat(MountTable.read().entries().stream().filter(e -> e.mountPoint().startsWith(tmp)))
                .isEmpty();
        assertThat(Files.list(node.store.resolve("publications"))).isEmpty();
    }

    @Test
    void restartCleansUpWhatACrashLeftHalfDone() throws Exception {
        Path kept = node.target("pod-kept");
        Path gone = node.target("pod-gone");
        node.node().nodePublishVolume(publish("vol-kept", kept, "tools").build());
        node.node().nodePublishVolume(publishWritable("vol-gone", gone, "python-3-12").build());
        node.stop();
        // as if the node lost the volume's mount while the plugin was down (e.g. a crash
        // mid-unpublish)
        new KernelMounts().unmount(gone);

        node.start();

        assertThat(node.plugin.recovery().publicationsRestored()).isEqualTo(1);
        assertThat(node.plugin.recovery().staleRecordsRemoved()).isEqualTo(1);
        assertThat(node.plugin.recovery().sharedMountsDropped())
                .as("python-3-12 had no user left")
                .isEqualTo(1);
        Path pythonShared =
                node.store.resolve("mounts").resolve(TmpfsImages.digestOf("python-3-12").hex());
        assertThat(MountTable.read().isMountPoint(pythonShared)).isFalse();
        assertThat(pythonShared).doesNotExist();
        assertThat(gone).doesNotExist();
        assertThat(Files.list(node.store.resolve("publications"))).hasSize(1);
        assertThat(Files.readString(kept.resolve("hello.txt")))
                .isEqualTo(TmpfsImages.hello("tools"));
        node.node().nodeUnpublishVolume(unpublish("vol-gone", gone));
        node.node().nodeUnpublishVolume(unpublish("vol-kept", kept));
        assertThat(MountTable.read().entries().stream().filter(e -> e.mountPoint().startsWith(tmp)))
                .isEmpty();
    }

    @Test
    void volumesWhoseRecordsWereLostAreAdoptedFromTheMountTable() throws Exception {
        Path ro = node.target("pod-ro");
        Path rw = node.target("pod-rw");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        node.node().nodePublishVolume(publishWritable("vol-rw", rw, "tools").build());
        Files.writeString(rw.resolve("note.txt"), "kept");
        node.stop();
        for (Path record : Files.list(node.store.resolve("publications")).toList()) {
            Files.delete(record.resolve("publication.properties"));
        }

        node.start();

        assertThat(node.plugin.recovery().orphansAdopted()).isEqualTo(2);
        assertThat(node.plugin.recovery().staleRecordsRemoved()).isZero();
        try (var upper = Files.walk(node.store.resolve("publications"))) {
            assertThat(upper.filter(f -> f.getFileName().toString().equals("note.txt")))
                    .as("the writable volume's upper dir is kept")
                    .hasSize(1);
        }
        assertThat(node.plugin.recovery().sharedMountsKept()).isEqualTo(1);
        assertThat(Files.readString(rw.resolve("note.txt"))).isEqualTo("kept");
        // kubelet republishes the read-only one: taken over; a different image is refused
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        PublishTest.assertCode(
                () -> node.node().nodePublishVolume(publish("vol-x", rw, "python-3-12").build()),
                io.grpc.Status.Code.ALREADY_EXISTS,
                "writable volume");
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
        node.node().nodeUnpublishVolume(unpublish("vol-rw", rw));
        assertThat(MountTable.read().entries().stream().filter(e -> e.mountPoint().startsWith(tmp)))
                .isEmpty();
        assertThat(Files.list(node.store.resolve("publications"))).isEmpty();
    }

    @Test
    void gracefulStopFinishesRunningCallsAndRefusesNewOnes() throws Exception {
        Path target = node.target("pod-a");
        CountDownLatch mounting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        node.stop();
        node.mounter = images.gated(mounting, release);
        node.start();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            var stub = node.node();
            Future<?> running =
                    pool.submit(
                            () ->
                                    stub.nodePublishVolume(
                                            publish("vol-a", target, "tools").build()));
            assertThat(mounting.await(10, TimeUnit.SECONDS)).isTrue();
            NodePlugin plugin = node.plugin;
            Future<?> stopping =
                    pool.submit(
                            () -> {
                                plugin.stop(20, TimeUnit.SECONDS);
                                return null;
                            });
            org.awaitility.Awaitility.await()
                    .atMost(10, TimeUnit.SECONDS)
                    .until(() -> isRefused(stub, node.target("pod-b")));

            release.countDown();
            running.get(30, TimeUnit.SECONDS); // the call in flight completed normally
            stopping.get(30, TimeUnit.SECONDS);
            assertThat(Files.readString(target.resolve("hello.txt")))
                    .isEqualTo(TmpfsImages.hello("tools"));
            assertThat(node.socket).as("the socket is removed at stop").doesNotExist();
        } finally {
            release.countDown();
            pool.shutdownNow();
            node.plugin = null; // already stopped
        }
    }

    private static boolean isRefused(dev.kcfs.csi.v1.NodeGrpc.NodeBlockingStub stub, Path target) {
        try {
            stub.nodePublishVolume(publish("vol-b", target, "tools").build());
            return false;
        } catch (io.grpc.StatusRuntimeException e) {
            return e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE;
        }
    }
}
