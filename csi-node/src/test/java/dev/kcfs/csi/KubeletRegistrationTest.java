package dev.kcfs.csi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.csi.registration.InfoRequest;
import dev.kcfs.csi.registration.PluginInfo;
import dev.kcfs.csi.registration.RegistrationGrpc;
import dev.kcfs.csi.registration.RegistrationStatus;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubelet's side of plugin registration, spoken over the real registration socket. */
class KubeletRegistrationTest {
    @TempDir Path tmp;

    @Test
    void kubeletLearnsTheDriverAndItsHostSocketAndItsVerdictIsKept() throws Exception {
        Path registry = Files.createDirectories(tmp.resolve("plugins_registry"));
        Path hostSocket = Path.of("/var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try (KubeletRegistration registration =
                KubeletRegistration.start(registry, "csi.kcfs.dev", hostSocket)) {
            // kubelet watches the directory for sockets: the name must end in .sock and sit right
            // in it
            assertThat(registration.socket()).isEqualTo(registry.resolve("csi.kcfs.dev-reg.sock"));
            ManagedChannel channel =
                    NettyChannelBuilder.forAddress(
                                    new DomainSocketAddress(registration.socket().toString()))
                            .channelType(EpollDomainSocketChannel.class)
                            .eventLoopGroup(group)
                            .usePlaintext()
                            .build();
            try {
                RegistrationGrpc.RegistrationBlockingStub kubelet =
                        RegistrationGrpc.newBlockingStub(channel)
                                .withDeadlineAfter(10, TimeUnit.SECONDS);
                PluginInfo info = kubelet.getInfo(InfoRequest.getDefaultInstance());
                assertThat(info.getType()).isEqualTo("CSIPlugin");
                assertThat(info.getName()).isEqualTo("csi.kcfs.dev");
                assertThat(info.getEndpoint()).isEqualTo(hostSocket.toString());
                assertThat(info.getSupportedVersionsList()).containsExactly("1.0.0");

                assertThat(registration.status()).isNull();
                kubelet.notifyRegistrationStatus(
                        RegistrationStatus.newBuilder()
                                .setPluginRegistered(false)
                                .setError("driver name csi.kcfs.dev already registered")
                                .build());
                assertThat(registration.status())
                        .isEqualTo("driver name csi.kcfs.dev already registered");
                kubelet.notifyRegistrationStatus(
                        RegistrationStatus.newBuilder().setPluginRegistered(true).build());
                assertThat(registration.status()).isEmpty();
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        // the socket goes with the plugin, which is how kubelet learns that it stopped
        assertThat(registry.resolve("csi.kcfs.dev-reg.sock")).doesNotExist();
    }
}
