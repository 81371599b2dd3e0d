package dev.kcfs.csi;

import dev.kcfs.csi.v1.NodeGetVolumeStatsRequest;
import dev.kcfs.csi.v1.NodeGetVolumeStatsResponse;
import dev.kcfs.csi.v1.NodeGrpc;
import dev.kcfs.csi.v1.NodePublishVolumeRequest;
import dev.kcfs.csi.v1.NodeUnpublishVolumeRequest;
import dev.kcfs.csi.v1.VolumeCapability;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Kubelet's side of the CSI Node service for the verity VM test (verity-vm/): the guest has no
 * kubelet, so its test script drives a real {@code kcfs-node} through this client. Several calls
 * run in one JVM (a JVM start is slow under software emulation):
 *
 * <pre>GuestCsiClient SOCKET publish VOLUME TARGET IMAGE -- stats VOLUME PATH -- unpublish VOLUME TARGET</pre>
 *
 * Each call prints one line, {@code OK ...} or {@code ERROR CODE: description}; the exit status is
 * the number of calls that failed, so the script decides which failures it expected.
 */
public final class GuestCsiClient {
    private GuestCsiClient() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: GuestCsiClient SOCKET CALL ARGS... [-- CALL ARGS...]...");
            System.exit(2);
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel channel =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(args[0]))
                        .channelType(EpollDomainSocketChannel.class)
                        .eventLoopGroup(group)
                        .usePlaintext()
                        .build();
        int failed = 0;
        try {
            for (List<String> call : calls(Arrays.copyOfRange(args, 1, args.length))) {
                NodeGrpc.NodeBlockingStub node =
                        NodeGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
                try {
                    System.out.println(call(node, call));
                } catch (StatusRuntimeException e) {
                    failed++;
                    System.out.println(
                            "ERROR "
                                    + e.getStatus().getCode()
                                    + ": "
                                    + e.getStatus().getDescription());
                }
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
        System.exit(failed);
    }

    private static List<List<String>> calls(String[] args) {
        List<List<String>> calls = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--")) {
                calls.add(current);
                current = new ArrayList<>();
            } else {
                current.add(a);
            }
        }
        calls.add(current);
        return calls;
    }

    private static String call(NodeGrpc.NodeBlockingStub node, List<String> call) {
        String name = call.isEmpty() ? "" : call.get(0);
        switch (name) {
            case "publish":
                expect(call, 4, "publish VOLUME TARGET IMAGE");
                node.nodePublishVolume(publish(call.get(1), call.get(2), call.get(3)));
                return "OK published " + call.get(1) + " at " + call.get(2);
            case "stats":
                expect(call, 3, "stats VOLUME PATH");
                NodeGetVolumeStatsResponse r =
                        node.nodeGetVolumeStats(
                                NodeGetVolumeStatsRequest.newBuilder()
                                        .setVolumeId(call.get(1))
                                        .setVolumePath(call.get(2))
                                        .build());
                return "OK abnormal="
                        + r.getVolumeCondition().getAbnormal()
                        + " message="
                        + r.getVolumeCondition().getMessage();
            case "unpublish":
                expect(call, 3, "unpublish VOLUME TARGET");
                node.nodeUnpublishVolume(
                        NodeUnpublishVolumeRequest.newBuilder()
                                .setVolumeId(call.get(1))
                                .setTargetPath(call.get(2))
                                .build());
                return "OK unpublished " + call.get(1);
            default:
                throw new IllegalArgumentException(
                        "unknown call " + call + ": use publish, stats or unpublish");
        }
    }

    private static void expect(List<String> call, int size, String usage) {
        if (call.size() != size) {
            throw new IllegalArgumentException("call " + call + " does not match: " + usage);
        }
    }

    /** What kubelet sends for a read-only inline volume of a pod (podInfoOnMount). */
    private static NodePublishVolumeRequest publish(String volumeId, String target, String image) {
        return NodePublishVolumeRequest.newBuilder()
                .setVolumeId(volumeId)
                .setTargetPath(target)
                .setReadonly(true)
                .setVolumeCapability(
                        VolumeCapability.newBuilder()
                                .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                                .setAccessMode(
                                        VolumeCapability.AccessMode.newBuilder()
                                                .setMode(
                                                        VolumeCapability.AccessMode.Mode
                                                                .SINGLE_NODE_READER_ONLY)))
                .putVolumeContext("image", image)
                .putVolumeContext("csi.storage.k8s.io/pod.name", "pod-" + volumeId)
                .putVolumeContext("csi.storage.k8s.io/pod.namespace", "default")
                .putVolumeContext("csi.storage.k8s.io/pod.uid", "uid-" + volumeId)
                .putVolumeContext("csi.storage.k8s.io/ephemeral", "true")
                .build();
    }
}
