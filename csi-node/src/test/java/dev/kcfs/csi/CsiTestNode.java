package dev.kcfs.csi;

import dev.kcfs.csi.v1.ControllerGrpc;
import dev.kcfs.csi.v1.IdentityGrpc;
import dev.kcfs.csi.v1.NodeGrpc;
import dev.kcfs.mount.ImageMounter;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.ExpectedDigests;
import dev.kcfs.publish.ImageAccess;
import dev.kcfs.publish.ImagePolicy;
import dev.kcfs.publish.ImageUses;
import dev.kcfs.publish.ImageVerity;
import dev.kcfs.publish.OnDemandBuilds;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A node plugin on a real Unix socket in a temp dir, and a real gRPC client talking to it the way
 * kubelet does. {@link #restart} stops the plugin (leaving every mount in place) and starts a
 * fresh one on the same store, as a DaemonSet pod restart would.
 */
final class CsiTestNode implements AutoCloseable {
    final Path root;
    final Path store;
    final Path kubelet;
    final Path socket;
    final TmpfsImages images;
    ImageAccess access = ImageAccess.ANY_NAMESPACE;
    ImageVerity verity = ImageVerity.fixed(VerityMode.OFF);
    ExpectedDigests expected = ExpectedDigests.NONE;
    OnDemandBuilds builds = OnDemandBuilds.DISABLED;
    ImageMounter mounter;

    /** When set, used as is instead of the tmpfs images. */
    NodePlugin.Parts parts;

    NodePlugin plugin;
    private EventLoopGroup clientGroup;
    private ManagedChannel channel;

    CsiTestNode(Path root, TmpfsImages images) throws IOException {
        this.root = root;
        this.store = root.resolve("store");
        this.kubelet = Files.createDirectories(root.resolve("kubelet"));
        this.socket = root.resolve("plugins/csi.kcfs.dev/csi.sock");
        this.images = images;
    }

    /** A node, not started yet (a test may set {@link #access} first), over fresh tmpfs images of these names. */
    static CsiTestNode overTmpfs(Path root, String... imageNames) throws IOException {
        TmpfsImages images = new TmpfsImages();
        for (String name : imageNames) {
            images.add(name);
        }
        return new CsiTestNode(root, images);
    }

    CsiTestNode start() throws IOException {
        Files.createDirectories(store);
        plugin =
                NodePlugin.start(
                        new NodePlugin.Config(socket, "node-1", store, kubelet, 0, "test"),
                        parts != null
                                ? parts
                                : NodePlugin.Parts.of()
                                        .images(images)
                                        .storeStats(() -> new StoreUsage.Snapshot(3, 300, 900))
                                        .mountRecords(
                                                new DirectoryMountRecords(store.resolve("mounts")))
                                        .mounter(mounter == null ? images : mounter)
                                        .policy(
                                                new ImagePolicy(
                                                        access,
                                                        verity,
                                                        expected,
                                                        name -> builds.request(name),
                                                        ImageUses.NONE)));
        clientGroup = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        channel =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollDomainSocketChannel.class)
                        .eventLoopGroup(clientGroup)
                        .usePlaintext()
                        .build();
        return this;
    }

    CsiTestNode restart() throws Exception {
        stop();
        return start();
    }

    NodeGrpc.NodeBlockingStub node() {
        return NodeGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    IdentityGrpc.IdentityBlockingStub identity() {
        return IdentityGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    ControllerGrpc.ControllerBlockingStub controller() {
        return ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    HealthGrpc.HealthBlockingStub health() {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** The target path kubelet would use for an inline volume of a pod. */
    Path target(String podUid) throws IOException {
        Path dir = kubelet.resolve("pods/" + podUid + "/volumes/kubernetes.io~csi/tools");
        Files.createDirectories(dir);
        return dir.resolve("mount");
    }

    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            clientGroup
                    .shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS)
                    .await(5, TimeUnit.SECONDS);
            channel = null;
        }
        if (plugin != null) {
            plugin.stop(5, TimeUnit.SECONDS);
            plugin = null;
        }
    }

    /** Stops the plugin and unmounts whatever a failed test left under the temp dir. */
    @Override
    public void close() throws Exception {
        stop();
        LeftoverMounts.detachUnder(root);
    }
}
