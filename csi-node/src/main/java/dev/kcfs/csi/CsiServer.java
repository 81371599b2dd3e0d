package dev.kcfs.csi;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server on a Unix domain socket (the CSI transport), with the standard health service
 * and a graceful stop: new calls are refused, running ones get time to finish.
 */
public final class CsiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CsiServer.class);

    private final Path socket;
    private final Server server;
    private final EventLoopGroup group;
    private final ExecutorService executor;
    private final HealthStatusManager health;

    private CsiServer(
            Path socket,
            Server server,
            EventLoopGroup group,
            ExecutorService executor,
            HealthStatusManager health) {
        this.socket = socket;
        this.server = server;
        this.group = group;
        this.executor = executor;
        this.health = health;
    }

    /** Binds {@code socket} (replacing a stale socket file left by a previous run) and starts serving. */
    public static CsiServer start(Path socket, List<BindableService> services) throws IOException {
        Files.createDirectories(socket.toAbsolutePath().getParent());
        if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes attrs =
                    Files.readAttributes(
                            socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!attrs.isOther()) {
                throw new IOException(
                        "endpoint "
                                + socket
                                + " exists and is not a socket; remove it or pick another --endpoint");
            }
            Files.delete(socket);
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        // calls block on mount syscalls and locks: run them on their own pool, not the event loop
        ExecutorService executor =
                Executors.newFixedThreadPool(
                        16,
                        r -> {
                            Thread t = new Thread(r, "csi-call");
                            t.setDaemon(true);
                            return t;
                        });
        NettyServerBuilder builder =
                NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .bossEventLoopGroup(group)
                        .workerEventLoopGroup(group)
                        .executor(executor);
        HealthStatusManager health = new HealthStatusManager();
        services.forEach(builder::addService);
        builder.addService(health.getHealthService());
        Server server = builder.build().start();
        health.setStatus("", ServingStatus.SERVING);
        LOG.info(
                "serving {} on unix://{}",
                services.stream()
                        .map(s -> s.bindService().getServiceDescriptor().getName())
                        .toList(),
                socket);
        return new CsiServer(socket, server, group, executor, health);
    }

    public Path socket() {
        return socket;
    }

    /** Stops accepting calls, waits up to {@code grace} for running ones, then cancels the rest. */
    public void stop(long grace, TimeUnit unit) throws InterruptedException {
        health.enterTerminalState();
        server.shutdown();
        if (!server.awaitTermination(grace, unit)) {
            LOG.warn("CSI calls still running after {} {}; cancelling them", grace, unit);
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
        executor.shutdown();
        group.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).await(5, TimeUnit.SECONDS);
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.warn("cannot remove socket {}: {}", socket, e.toString());
        }
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() throws InterruptedException {
        stop(10, TimeUnit.SECONDS);
    }
}
