package dev.kcfs.e2e;

import dev.kcfs.csi.v1.IdentityGrpc;
import dev.kcfs.csi.v1.NodeGrpc;
import dev.kcfs.csi.v1.NodePublishVolumeRequest;
import dev.kcfs.csi.v1.NodeUnpublishVolumeRequest;
import dev.kcfs.csi.v1.ProbeRequest;
import dev.kcfs.csi.v1.VolumeCapability;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * What kubelet does with a CSI node plugin for inline volumes: gRPC over the plugin's Unix socket,
 * {@code NodePublishVolume} with the pod's info in the volume context (the CSIDriver has
 * {@code podInfoOnMount: true}) onto {@code <kubelet-dir>/pods/<uid>/volumes/kubernetes.io~csi/<volume>/mount},
 * and {@code NodeUnpublishVolume}.
 */
final class Kubelet implements AutoCloseable {
    /** A pod's inline kcfs volume: where kubelet asks for it and what it asks. */
    record Volume(
            String pod,
            String uid,
            String volumeName,
            String volumeId,
            String image,
            Path target) {}

    private final Path kubeletDir;
    private final EventLoopGroup group;
    private final ManagedChannel channel;

    Kubelet(Path kubeletDir, Path socket) {
        this.kubeletDir = kubeletDir;
        this.group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        this.channel =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .eventLoopGroup(group)
                        .channelType(EpollDomainSocketChannel.class)
                        .usePlaintext()
                        .build();
    }

    /** Waits until the plugin answers Probe "ready" (the socket file appears just before the server accepts). */
    void awaitReady(KcfsProcess plugin, Path socket, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            plugin.assertAlive();
            if (Files.exists(socket)) {
                try {
                    if (IdentityGrpc.newBlockingStub(channel)
                            .withDeadlineAfter(5, TimeUnit.SECONDS)
                            .probe(ProbeRequest.getDefaultInstance())
                            .getReady()
                            .getValue()) {
                        return;
                    }
                } catch (StatusRuntimeException e) {
                    // not accepting yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "the node plugin did not answer Probe within "
                                + timeout
                                + ":\n"
                                + plugin.output());
            }
            Thread.sleep(100);
        }
    }

    /** The volume kubelet derives for pod {@code pod}'s inline volume {@code volumeName} using ComposefsImage {@code image}. */
    Volume volume(String pod, String volumeName, String image) throws Exception {
        String uid =
                java.util.UUID.nameUUIDFromBytes(pod.getBytes(StandardCharsets.UTF_8)).toString();
        // kubelet names inline volumes "csi-" + a hash of pod uid and volume name
        String id = "csi-" + sha256(uid + "/" + volumeName).substring(0, 40);
        Path dir =
                Files.createDirectories(
                        kubeletDir
                                .resolve("pods")
                                .resolve(uid)
                                .resolve("volumes")
                                .resolve("kubernetes.io~csi")
                                .resolve(volumeName));
        return new Volume(pod, uid, volumeName, id, image, dir.resolve("mount"));
    }

    long publish(Volume v) {
        long start = System.nanoTime();
        NodeGrpc.newBlockingStub(channel)
                .withDeadlineAfter(2, TimeUnit.MINUTES)
                .nodePublishVolume(
                        NodePublishVolumeRequest.newBuilder()
                                .setVolumeId(v.volumeId())
                                .setTargetPath(v.target().toString())
                                .setReadonly(true)
                                .setVolumeCapability(
                                        VolumeCapability.newBuilder()
                                                .setMount(
                                                        VolumeCapability.MountVolume
                                                                .getDefaultInstance())
                                                .setAccessMode(
                                                        VolumeCapability.AccessMode.newBuilder()
                                                                .setMode(
                                                                        VolumeCapability.AccessMode
                                                                                .Mode
                                                                                .SINGLE_NODE_READER_ONLY)))
                                .putVolumeContext("image", v.image())
                                .putVolumeContext("csi.storage.k8s.io/pod.name", v.pod())
                                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "default")
                                .putVolumeContext("csi.storage.k8s.io/pod.uid", v.uid())
                                .putVolumeContext(
                                        "csi.storage.k8s.io/serviceAccount.name", "default")
                                .putVolumeContext("csi.storage.k8s.io/ephemeral", "true")
                                .build());
        return System.nanoTime() - start;
    }

    void unpublish(Volume v) {
        NodeGrpc.newBlockingStub(channel)
                .withDeadlineAfter(2, TimeUnit.MINUTES)
                .nodeUnpublishVolume(
                        NodeUnpublishVolumeRequest.newBuilder()
                                .setVolumeId(v.volumeId())
                                .setTargetPath(v.target().toString())
                                .build());
    }

    private static String sha256(String s) throws NoSuchAlgorithmException {
        return HexFormat.of()
                .formatHex(
                        MessageDigest.getInstance("SHA-256")
                                .digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
