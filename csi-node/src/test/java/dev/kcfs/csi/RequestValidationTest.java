package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static dev.kcfs.csi.PublishTest.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.csi.v1.NodePublishVolumeRequest;
import dev.kcfs.csi.v1.NodeUnpublishVolumeRequest;
import dev.kcfs.csi.v1.VolumeCapability;
import dev.kcfs.mount.MountTable;
import dev.kcfs.publish.OnDemandBuilds;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests that must be refused before anything is mounted: bad attributes, bad targets, missing
 * images, namespaces the image does not allow. None of these mount, so they run without root.
 */
class RequestValidationTest {
    @TempDir Path tmp;
    TmpfsImages images;
    CsiTestNode node;
    Path target;

    @BeforeEach
    void start() throws IOException {
        node = CsiTestNode.overTmpfs(tmp, "tools");
        images = node.images;
        node.access = TmpfsImages.access(Map.of("tools", Set.of("team-a", "team-b")));
        node.start();
        target = node.target("pod-a");
    }

    @AfterEach
    void stop() throws Exception {
        node.close();
    }

    static Stream<Arguments> badPublishes() {
        VolumeCapability block =
                VolumeCapability.newBuilder()
                        .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                        .setAccessMode(
                                VolumeCapability.AccessMode.newBuilder()
                                        .setMode(
                                                VolumeCapability.AccessMode.Mode
                                                        .SINGLE_NODE_WRITER))
                        .build();
        VolumeCapability noAccessMode =
                VolumeCapability.newBuilder()
                        .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                        .build();
        VolumeCapability readerOnly =
                VolumeCapability.newBuilder()
                        .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                        .setAccessMode(
                                VolumeCapability.AccessMode.newBuilder()
                                        .setMode(
                                                VolumeCapability.AccessMode.Mode
                                                        .MULTI_NODE_READER_ONLY))
                        .build();
        return Stream.of(
                bad("empty volume id", r -> r.setVolumeId(""), "volume_id is empty"),
                bad(
                        "control character in volume id",
                        r -> r.setVolumeId("a\nb"),
                        "control characters"),
                bad(
                        "no image attribute",
                        r -> r.removeVolumeContext("image"),
                        "\"image\" is missing"),
                bad("empty image", r -> r.putVolumeContext("image", ""), "\"image\" is missing"),
                bad(
                        "absolute path as image",
                        r -> r.putVolumeContext("image", "/etc/shadow"),
                        "paths are not accepted"),
                bad(
                        "relative path as image",
                        r -> r.putVolumeContext("image", "../../images/x"),
                        "not a ComposefsImage name"),
                bad(
                        "slash in image",
                        r -> r.putVolumeContext("image", "team/tools"),
                        "not a ComposefsImage name"),
                bad(
                        "dot-dot image",
                        r -> r.putVolumeContext("image", ".."),
                        "not a ComposefsImage name"),
                bad(
                        "upper case image",
                        r -> r.putVolumeContext("image", "Tools"),
                        "not a ComposefsImage name"),
                bad(
                        "image with a tag",
                        r -> r.putVolumeContext("image", "python:3.12"),
                        "not a ComposefsImage name"),
                bad(
                        "too long image",
                        r -> r.putVolumeContext("image", "a".repeat(254)),
                        "at most 253"),
                bad("NUL in image", r -> r.putVolumeContext("image", "tools\0x"), "\\x00"),
                bad(
                        "writable not a boolean",
                        r -> r.putVolumeContext("writable", "yes"),
                        "must be \"true\" or \"false\""),
                bad(
                        "writable upper case",
                        r -> r.putVolumeContext("writable", "TRUE"),
                        "must be \"true\" or \"false\""),
                bad(
                        "misspelt attribute",
                        r -> r.putVolumeContext("writeable", "true"),
                        "unknown volume attribute \"writeable\""),
                bad(
                        "path attribute",
                        r -> r.putVolumeContext("path", "/var/lib"),
                        "unknown volume attribute \"path\""),
                bad(
                        "writable but readOnly",
                        r -> r.putVolumeContext("writable", "true").setReadonly(true),
                        "mounted readOnly"),
                bad(
                        "writable with a reader-only mode",
                        r ->
                                r.putVolumeContext("writable", "true")
                                        .setReadonly(false)
                                        .setVolumeCapability(readerOnly),
                        "MULTI_NODE_READER_ONLY"),
                bad(
                        "no volume capability",
                        NodePublishVolumeRequest.Builder::clearVolumeCapability,
                        "volume_capability is missing"),
                bad("block volume", r -> r.setVolumeCapability(block), "volumeMode: Filesystem"),
                bad("no access mode", r -> r.setVolumeCapability(noAccessMode), "access_mode"),
                bad("empty target", r -> r.setTargetPath(""), "target_path is empty"),
                bad("relative target", r -> r.setTargetPath("pods/x/mount"), "absolute path"),
                bad(
                        "5000-character target",
                        r -> r.setTargetPath(r.getTargetPath() + "/x".repeat(2500)),
                        "Linux paths end at 4095 bytes"),
                bad(
                        "300-character file name in the target",
                        r -> r.setTargetPath(r.getTargetPath() + "/" + "n".repeat(300)),
                        "Linux file names end at 255 bytes"));
    }

    private static Arguments bad(
            String name, UnaryOperator<NodePublishVolumeRequest.Builder> change, String message) {
        return Arguments.of(name, change, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badPublishes")
    void badPublishIsInvalidArgumentAndMountsNothing(
            String name, UnaryOperator<NodePublishVolumeRequest.Builder> change, String message)
            throws IOException {
        NodePublishVolumeRequest request =
                change.apply(
                                publish("vol-a", target, "tools")
                                        .putVolumeContext(
                                                "csi.storage.k8s.io/pod.namespace", "team-a"))
                        .build();

        assertCode(
                () -> node.node().nodePublishVolume(request),
                Status.Code.INVALID_ARGUMENT,
                message);
        assertNothingMounted();
    }

    @Test
    void targetsOutsideTheKubeletDirAreRefused() throws IOException {
        Path outside = Files.createDirectories(tmp.resolve("elsewhere")).resolve("mount");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", outside, "tools").build()),
                Status.Code.INVALID_ARGUMENT,
                "not under the kubelet directory");
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(publish("vol-a", node.kubelet, "tools").build()),
                Status.Code.INVALID_ARGUMENT,
                "not under the kubelet directory");
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-a", target, "tools")
                                                .setTargetPath(
                                                        node.kubelet
                                                                + "/pods/../../elsewhere/mount")
                                                .build()),
                Status.Code.INVALID_ARGUMENT,
                "without . or .. parts");
        // a symlink inside the kubelet dir that leads out of it
        Path link = node.kubelet.resolve("pods/evil");
        Files.createSymbolicLink(link, tmp.resolve("elsewhere"));
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-a", link.resolve("mount"), "tools").build()),
                Status.Code.INVALID_ARGUMENT,
                "through a symbolic link");
        Path linkTarget = node.target("pod-link");
        Files.createSymbolicLink(linkTarget, tmp.resolve("elsewhere"));
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", linkTarget, "tools").build()),
                Status.Code.INVALID_ARGUMENT,
                "is a symbolic link");
        assertCode(
                () -> node.node().nodeUnpublishVolume(unpublish("vol-a", Path.of("/etc"))),
                Status.Code.INVALID_ARGUMENT,
                "not under the kubelet directory");
        assertNothingMounted();
    }

    @Test
    void badUnpublishesAreInvalidArgument() {
        assertCode(
                () ->
                        node.node()
                                .nodeUnpublishVolume(
                                        NodeUnpublishVolumeRequest.newBuilder()
                                                .setTargetPath(target.toString())
                                                .build()),
                Status.Code.INVALID_ARGUMENT,
                "volume_id is empty");
        assertCode(
                () ->
                        node.node()
                                .nodeUnpublishVolume(
                                        NodeUnpublishVolumeRequest.newBuilder()
                                                .setVolumeId("vol-a")
                                                .build()),
                Status.Code.INVALID_ARGUMENT,
                "target_path is empty");
    }

    @Test
    void namespacesOutsideAllowedNamespacesArePermissionDenied() {
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-a", target, "tools")
                                                .putVolumeContext(
                                                        "csi.storage.k8s.io/pod.namespace",
                                                        "team-c")
                                                .build()),
                Status.Code.PERMISSION_DENIED,
                "may not be mounted in namespace team-c; its allowedNamespaces are [team-a, team-b]");
        assertCode(
                () ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-a", target, "tools")
                                                .removeVolumeContext(
                                                        "csi.storage.k8s.io/pod.namespace")
                                                .build()),
                Status.Code.PERMISSION_DENIED,
                "podInfoOnMount: true");
        assertNothingMounted();
    }

    @Test
    void missingImageWithBuildsDisabledIsNotFoundAndSaysWhatToDo() {
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.NOT_FOUND,
                "ComposefsImage cuda is not built on node node-1 yet: on-demand builds are"
                        + " disabled on this node; add this node to spec.nodeSelector");
        assertNothingMounted();
    }

    @Test
    void missingImageStartsABuildAndAnswersUnavailable() {
        java.util.List<String> requested = new java.util.concurrent.CopyOnWriteArrayList<>();
        node.builds =
                name -> {
                    requested.add(name);
                    return requested.size() == 1
                            ? new OnDemandBuilds.BuildState(
                                    OnDemandBuilds.BuildState.Kind.STARTED,
                                    "pulling registry.example/cuda:12")
                            : new OnDemandBuilds.BuildState(
                                    OnDemandBuilds.BuildState.Kind.BUILDING,
                                    "42% of layers imported");
                };
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.UNAVAILABLE,
                "started building it; the mount is retried until it is ready (pulling registry.example/cuda:12)");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.UNAVAILABLE,
                "it is being built; the mount is retried until it is ready (42% of layers imported)");
        assertThat(requested).containsExactly("cuda", "cuda");

        node.builds =
                name ->
                        new OnDemandBuilds.BuildState(
                                OnDemandBuilds.BuildState.Kind.FAILED, "manifest unknown");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.UNAVAILABLE,
                "the last build failed: manifest unknown");
        node.builds =
                name ->
                        new OnDemandBuilds.BuildState(
                                OnDemandBuilds.BuildState.Kind.UNKNOWN_IMAGE, "");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.NOT_FOUND,
                "no ComposefsImage named cuda exists");
        assertNothingMounted();
    }

    @Test
    void aBuildHookThatHangsDoesNotHoldKubeletPastItsDeadline() {
        java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        node.builds =
                name -> {
                    try {
                        never.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return new OnDemandBuilds.BuildState(
                            OnDemandBuilds.BuildState.Kind.STARTED, "too late");
                };
        long start = System.nanoTime();
        assertCode(
                () ->
                        node.node()
                                .withDeadlineAfter(2, java.util.concurrent.TimeUnit.SECONDS)
                                .nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.UNAVAILABLE,
                "the node agent has not answered yet");
        assertThat(System.nanoTime() - start).isLessThan(2_000_000_000L);
        never.countDown();
        node.builds =
                name -> {
                    throw new IllegalStateException("registry credentials missing");
                };
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", target, "cuda").build()),
                Status.Code.UNAVAILABLE,
                "cannot start building ComposefsImage cuda on node node-1: registry credentials missing");
    }

    private void assertNothingMounted() {
        assertThat(MountTable.read().entries().stream().filter(e -> e.mountPoint().startsWith(tmp)))
                .isEmpty();
        assertThat(images.mounts.get()).isZero();
        assertThat(target).doesNotExist();
    }
}
