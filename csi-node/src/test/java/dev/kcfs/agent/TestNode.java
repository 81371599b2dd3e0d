package dev.kcfs.agent;

import dev.kcfs.csi.LeftoverMounts;
import dev.kcfs.csi.NodePlugin;
import dev.kcfs.csi.StoreImages;
import dev.kcfs.csi.v1.NodeGrpc;
import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.StoreImageMounter;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.PublishedImages;
import dev.kcfs.store.Store;
import dev.kcfs.verity.KernelVerity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;

/**
 * One simulated node: its own store and node agent and, with {@link #withCsi}, the CSI plugin on a
 * real Unix socket with a real gRPC client (as kubelet talks to it). {@link #restartAgent} closes
 * the agent and starts a new one on the same store, as a DaemonSet pod restart would.
 */
final class TestNode implements AutoCloseable {
    final String name;
    final Path root;
    final Path kubelet;
    final Store store;
    private final KubernetesClient client;
    private final NodeAgent.Settings settings;

    /** The agents' clock: the system's, moved forward by tests that need time to pass without waiting. */
    final SkippingClock clock = new SkippingClock();

    NodeAgent agent;
    private NodePlugin plugin;
    private EventLoopGroup clientGroup;
    private ManagedChannel channel;

    TestNode(KubernetesClient client, String name, Path root, NodeAgent.Settings settings)
            throws Exception {
        this.client = client;
        this.name = name;
        this.root = root;
        this.kubelet = Files.createDirectories(root.resolve("kubelet"));
        this.store = Store.open(root.resolve("store"));
        this.settings = settings;
    }

    /** The system clock plus what {@link #skip} added: time that passes for the agent without the test waiting. */
    static final class SkippingClock extends Clock {
        private volatile Duration skipped = Duration.ZERO;

        void skip(Duration d) {
            skipped = skipped.plus(d);
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(skipped);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    /** Short intervals so tests do not wait for production timings. */
    static NodeAgent.Settings fast(String node) {
        return NodeAgent.Settings.defaults(node)
                .withIntervals(
                        Duration.ofMillis(500),
                        Duration.ofMinutes(10),
                        Duration.ofMillis(300),
                        Duration.ofSeconds(2));
    }

    TestNode startAgent() throws Exception {
        agent = new NodeAgent(client, store, settings, clock);
        agent.start(plugin == null ? PublishedImages.NONE : plugin.volumes());
        return this;
    }

    /** Agent and CSI plugin wired as kcfs-node wires them. */
    TestNode withCsi() throws Exception {
        agent = new NodeAgent(client, store, settings, clock);
        StoreImageMounter mounter =
                new StoreImageMounter(
                        store,
                        new ComposefsMounter(
                                new KernelVerity(),
                                Files.createDirectories(root.resolve("scratch")),
                                false));
        Path socket = root.resolve("csi.sock");
        plugin =
                NodePlugin.start(
                        new NodePlugin.Config(socket, name, store.root(), kubelet, -1, "test"),
                        NodePlugin.Parts.overStore(new StoreImages(store))
                                .mounter(mounter)
                                .policy(agent.policy(VerityMode.IF_SUPPORTED)));
        agent.start(plugin.volumes(), plugin.metrics().registry());
        clientGroup = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        channel =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollDomainSocketChannel.class)
                        .eventLoopGroup(clientGroup)
                        .usePlaintext()
                        .build();
        return this;
    }

    /** The Prometheus text the plugin serves on /metrics. */
    String scrape() {
        return plugin.metrics().scrape();
    }

    void restartAgent() throws Exception {
        agent.close();
        startAgent();
    }

    NodeGrpc.NodeBlockingStub csi() {
        return NodeGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** The target path kubelet uses for an inline volume of a pod. */
    Path target(String podUid) throws Exception {
        Path dir =
                Files.createDirectories(
                        kubelet.resolve("pods/" + podUid + "/volumes/kubernetes.io~csi/tools"));
        return dir.resolve("mount");
    }

    @Override
    public void close() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
        if (plugin != null) {
            plugin.stop(5, TimeUnit.SECONDS);
            // what a failed test left mounted under this node's directory
            LeftoverMounts.detachUnder(root);
        }
    }
}
