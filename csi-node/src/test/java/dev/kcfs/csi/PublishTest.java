package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.publishWritable;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.mount.KernelMounts;
import dev.kcfs.mount.MountTable;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Publish and unpublish over a real Unix socket with real mounts. */
@Tag("root")
class PublishTest extends CsiNodeTest {
    PublishTest() {
        super("python-3-12", "tools");
    }

    @Test
    void readOnlyVolumeShowsTheImageAndRefusesWrites() throws Exception {
        Path target = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", target, "python-3-12").build());

        assertThat(Files.readString(target.resolve("hello.txt")))
                .isEqualTo(TmpfsImages.hello("python-3-12"));
        assertThat(Files.readString(target.resolve("etc/digest")))
                .isEqualTo(TmpfsImages.digestOf("python-3-12").hex());
        assertThatThrownBy(() -> Files.writeString(target.resolve("new.txt"), "x"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("Read-only file system");
        MountTable.Entry entry = MountTable.read().at(target).orElseThrow();
        assertThat(entry.fsType()).isEqualTo("tmpfs");
        Path shared = sharedDir("python-3-12");
        assertThat(MountTable.read().count(shared)).isEqualTo(1);
        assertThat(MountTable.read().at(shared).orElseThrow().device()).isEqualTo(entry.device());

        node.node().nodeUnpublishVolume(unpublish("vol-a", target));

        assertThat(MountTable.read().isMountPoint(target)).isFalse();
        assertThat(target).doesNotExist();
        assertThat(MountTable.read().isMountPoint(shared)).isFalse();
        assertThat(shared).doesNotExist();

        assertThat(publicationRecords()).isEmpty();
    }

    @Test
    void writableVolumeKeepsWritesPrivateAndDiscardsThemAtUnpublish() throws Exception {
        Path rw = node.target("pod-rw");
        Path ro = node.target("pod-ro");
        node.node().nodePublishVolume(publishWritable("vol-rw", rw, "tools").build());
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());

        Files.writeString(rw.resolve("scratch.txt"), "written by the pod");
        Files.writeString(rw.resolve("hello.txt"), "changed");
        assertThat(Files.readString(rw.resolve("scratch.txt"))).isEqualTo("written by the pod");
        assertThat(Files.readString(rw.resolve("hello.txt"))).isEqualTo("changed");
        // the image itself and other volumes of it do not see the writes
        assertThat(Files.readString(ro.resolve("hello.txt"))).isEqualTo(TmpfsImages.hello("tools"));
        assertThat(ro.resolve("scratch.txt")).doesNotExist();
        assertThat(MountTable.read().at(rw).orElseThrow().fsType()).isEqualTo("overlay");
        assertThat(images.mounts.get()).isEqualTo(1);

        node.node().nodeUnpublishVolume(unpublish("vol-rw", rw));
        assertThat(MountTable.read().isMountPoint(rw)).isFalse();
        assertThat(MountTable.read().isMountPoint(sharedDir("tools")))
                .as("still used by vol-ro")
                .isTrue();

        Path rw2 = node.target("pod-rw2");
        node.node().nodePublishVolume(publishWritable("vol-rw2", rw2, "tools").build());
        assertThat(rw2.resolve("scratch.txt")).as("upper dir was discarded").doesNotExist();
        assertThat(Files.readString(rw2.resolve("hello.txt")))
                .isEqualTo(TmpfsImages.hello("tools"));

        node.node().nodeUnpublishVolume(unpublish("vol-rw2", rw2));
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
        assertThat(MountTable.read().isMountPoint(sharedDir("tools"))).isFalse();
        assertThat(publicationRecords()).isEmpty();
    }

    @Test
    void samePublishTwiceIsOkAndMountsOnce() throws Exception {
        Path target = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());
        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());

        assertThat(MountTable.read().count(target)).isEqualTo(1);
        assertThat(images.mounts.get()).isEqualTo(1);
        assertThat(node.plugin.volumes().sharedUsers(TmpfsImages.digestOf("tools"))).isEqualTo(1);
    }

    @Test
    void differentArgumentsForAPublishedTargetAreAlreadyExists() throws Exception {
        Path target = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());

        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(publish("vol-a", target, "python-3-12").build()),
                Status.Code.ALREADY_EXISTS,
                "differs");
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(
                                        publishWritable("vol-a", target, "tools").build()),
                Status.Code.ALREADY_EXISTS,
                "writable");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-b", target, "tools").build()),
                Status.Code.ALREADY_EXISTS,
                "vol-a");
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-a", target, "tools")
                                                .setReadonly(false)
                                                .build()),
                Status.Code.ALREADY_EXISTS,
                "readonly");
        // the original volume is untouched
        assertThat(MountTable.read().count(target)).isEqualTo(1);
        assertThat(Files.readString(target.resolve("hello.txt")))
                .isEqualTo(TmpfsImages.hello("tools"));
        assertThat(images.mounts.get()).isEqualTo(1);
    }

    @Test
    void unpublishIsIdempotentAndUnknownTargetsSucceed() throws Exception {
        Path target = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());
        node.node().nodeUnpublishVolume(unpublish("vol-a", target));
        node.node().nodeUnpublishVolume(unpublish("vol-a", target));
        node.node().nodeUnpublishVolume(unpublish("never-published", node.target("pod-x")));

        assertThat(MountTable.read().isMountPoint(target)).isFalse();
    }

    @Test
    void aMountKcfsDidNotMakeIsNeitherReplacedNorUnmounted() throws Exception {
        Path target = node.target("pod-a");
        Files.createDirectories(target);
        Path foreign = Files.createDirectories(tmp.resolve("foreign"));
        new KernelMounts().bindReadOnly(foreign, target);

        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "tools").build()),
                Status.Code.ALREADY_EXISTS,
                "did not make");
        node.node().nodeUnpublishVolume(unpublish("vol-a", target));
        assertThat(MountTable.read().isMountPoint(target)).isTrue();
        assertThat(images.mounts.get()).isZero();
    }

    @Test
    void remountsAVolumeThatWasUnmountedBehindItsBack() throws Exception {
        Path target = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());
        new KernelMounts().unmount(target);

        node.node().nodePublishVolume(publish("vol-a", target, "tools").build());
        assertThat(Files.readString(target.resolve("hello.txt")))
                .isEqualTo(TmpfsImages.hello("tools"));
        assertThat(node.plugin.volumes().sharedUsers(TmpfsImages.digestOf("tools"))).isEqualTo(1);
    }

    @Test
    void anUpdatedImageServesNewVolumesWhileOldVolumesKeepTheirs() throws Exception {
        Path old = node.target("pod-old");
        node.node().nodePublishVolume(publish("vol-old", old, "tools").build());
        images.add("tools", "tools-v2"); // the ref now names another digest
        Path fresh = node.target("pod-new");
        node.node().nodePublishVolume(publish("vol-new", fresh, "tools").build());

        assertThat(Files.readString(old.resolve("etc/digest")))
                .isEqualTo(TmpfsImages.digestOf("tools").hex());
        assertThat(Files.readString(fresh.resolve("etc/digest")))
                .isEqualTo(TmpfsImages.digestOf("tools-v2").hex());
        // a retry of the old volume is still the same request, even though the ref moved
        node.node().nodePublishVolume(publish("vol-old", old, "tools").build());

        node.node().nodeUnpublishVolume(unpublish("vol-old", old));
        assertThat(MountTable.read().isMountPoint(sharedDir("tools"))).isFalse();
        assertThat(
                        MountTable.read()
                                .isMountPoint(
                                        node.store
                                                .resolve("mounts")
                                                .resolve(TmpfsImages.digestOf("tools-v2").hex())))
                .isTrue();
    }

    @Test
    void aFailedImageMountLeavesNoMountPointTargetOrRecord() throws Exception {
        node.stop();
        node.mounter =
                (image, mountpoint, verity) -> {
                    throw new IOException("image " + image.hex() + " is damaged (test)");
                };
        node.start();
        Path target = node.target("pod-a");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "tools").build()),
                Status.Code.INTERNAL,
                "image " + TmpfsImages.digestOf("tools").hex() + " is damaged (test)");
        assertThat(sharedDir("tools")).doesNotExist();
        assertThat(target).doesNotExist();
        assertThat(publicationRecords()).isEmpty();
        assertThat(node.plugin.volumes().sharedMountCount()).isZero();
    }

    private Path sharedDir(String image) {
        return node.store.resolve("mounts").resolve(TmpfsImages.digestOf(image).hex());
    }

    private Stream<Path> publicationRecordStream() throws IOException {
        Path dir = node.store.resolve("publications");
        return Files.isDirectory(dir) ? Files.list(dir) : Stream.empty();
    }

    private java.util.List<Path> publicationRecords() throws IOException {
        try (Stream<Path> s = publicationRecordStream()) {
            return s.toList();
        }
    }

    static void assertCode(Runnable call, Status.Code code, String messagePart) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(code);
                            assertThat(e.getStatus().getDescription()).contains(messagePart);
                        });
    }
}
