package dev.kcfs.deploy;

import static dev.kcfs.deploy.ImageProcesses.freePort;
import static dev.kcfs.deploy.ImageProcesses.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.BoolValue;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.csi.v1.GetPluginInfoRequest;
import dev.kcfs.csi.v1.IdentityGrpc;
import dev.kcfs.csi.v1.ProbeRequest;
import dev.kcfs.csi.v1.ProbeResponse;
import dev.kcfs.testing.Root;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node plugin image runs: its entrypoint, in a chroot of the image's root filesystem (nothing
 * from the host but the kernel, /proc and a scratch /tmp), serves CSI on its Unix socket and answers
 * Probe "ready". Startup loads JNA (the mount syscalls) and netty's epoll transport, so their native
 * libraries and the glibc files they need are exercised too.
 *
 * <p>With {@code -Pimages} the root is unpacked from the OCI image tar Jib wrote (kcfs.node.image) and
 * the entrypoint comes from the image config. In the default build (no image tar, to keep CI fast)
 * it runs the staged root filesystem Jib would pack (kcfs.node.rootfs) with the same entrypoint.
 */
@Tag("root")
class NodeImageTest {
    private static final Duration START_DEADLINE = Duration.ofSeconds(90);

    /** The mock API server logs every request through java.util.logging; held so the level sticks. */
    private static final java.util.logging.Logger MOCK_LOG =
            java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    static {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    @TempDir Path work;

    /** The node image's root and entrypoint: unpacked from the tar with -Pimages, else the staged root. */
    private record NodeImage(Path root, List<String> entrypoint) {}

    private NodeImage nodeImage() throws IOException {
        List<String> configured =
                Arrays.asList(System.getProperty("kcfs.node.entrypoint", "").split(","));
        String imageTar = System.getProperty("kcfs.node.image");
        if (imageTar != null) {
            assertThat(Path.of(imageTar))
                    .as("-Pimages builds the node image before the tests")
                    .isRegularFile();
            System.out.println("NodeImageTest: running the image " + imageTar);
            OciLayout.Unpacked image = OciLayout.unpack(Path.of(imageTar), work.resolve("image"));
            assertThat(image.entrypoint())
                    .as("entrypoint in the image config")
                    .isEqualTo(configured);
            return new NodeImage(image.root(), image.entrypoint());
        }
        String staged = System.getProperty("kcfs.node.rootfs");
        assumeTrue(
                staged != null && Files.isDirectory(Path.of(staged)),
                "skipped: no node image root filesystem (run through Maven: ./mvnw -pl deploy verify)");
        System.out.println("NodeImageTest: running the staged root filesystem " + staged);
        return new NodeImage(Path.of(staged), configured);
    }

    /** What the image's kcfs-node says to --help: its options, whichever version the image holds. */
    private String usage(NodeImage image) throws Exception {
        Path log = work.resolve("help.log");
        Process help =
                startNode(
                        image,
                        Files.createDirectories(work.resolve("help-tmp")),
                        List.of("--help"),
                        log);
        assertThat(help.waitFor(60, TimeUnit.SECONDS)).as("kcfs-node --help in the image").isTrue();
        assertThat(help.exitValue()).as("kcfs-node --help:%n%s", read(log)).isZero();
        return read(log);
    }

    /**
     * Starts the image's entrypoint in a chroot, with a private /proc and {@code tmp} as its /tmp. The
     * root is bind-mounted onto itself first: as in a container, "/" is then a mount point, and the
     * mount table seen from inside lists the mounts under it.
     */
    private static Process startNode(NodeImage image, Path tmp, List<String> args, Path log)
            throws IOException {
        List<String> command =
                new ArrayList<>(
                        List.of(
                                "unshare",
                                "--mount",
                                "--propagation",
                                "private",
                                "sh",
                                "-c",
                                "set -e; root=$1; tmp=$2; shift 2; mount --bind \"$root\" \"$root\"; mount -t proc proc \"$root/proc\";"
                                        + " mount --bind \"$tmp\" \"$root/tmp\"; exec env -i NODE_NAME=image-test \"$(command -v chroot)\" \"$root\" \"$@\"",
                                "sh",
                                image.root().toString(),
                                tmp.toString()));
        command.addAll(image.entrypoint());
        command.addAll(
                List.of(
                        "--endpoint",
                        "unix:///tmp/csi/csi.sock",
                        "--store",
                        "/tmp/store",
                        "--kubelet-dir",
                        "/tmp/kubelet"));
        command.addAll(args);
        Files.createDirectories(tmp.resolve("kubelet"));
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    @Test
    void entrypointServesCsiProbeInAChroot() throws Exception {
        Root.assumeRoot();
        NodeImage image = nodeImage();
        Path root = image.root();
        // a scratch image: nothing but the JRE, glibc, the app and /etc files; no shell
        assertThat(root.resolve("bin/sh")).doesNotExist();
        assertThat(root.resolve("proc")).isDirectory();
        assertThat(root.resolve("tmp")).isDirectory();
        assertThat(Files.isExecutable(root.resolve(image.entrypoint().get(0).substring(1))))
                .isTrue();

        Path tmp = Files.createDirectories(work.resolve("tmp"));
        int metricsPort = freePort();
        List<String> args =
                new ArrayList<>(List.of("--metrics-port", Integer.toString(metricsPort)));
        // there is no API server here: the CSI side only (a kcfs-node with a node agent has
        // --no-agent)
        if (usage(image).contains("--no-agent")) {
            args.add("--no-agent");
        }
        Path log = work.resolve("node.log");
        Process node = startNode(image, tmp, args, log);
        Path socket = tmp.resolve("csi/csi.sock");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel channel =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .eventLoopGroup(group)
                        .channelType(EpollDomainSocketChannel.class)
                        .usePlaintext()
                        .build();
        try {
            ProbeResponse probe = awaitProbe(node, socket, channel, log);
            assertThat(probe.getReady())
                    .as("Probe of the chrooted plugin:%n%s", read(log))
                    .isEqualTo(BoolValue.of(true));
            assertThat(
                            IdentityGrpc.newBlockingStub(channel)
                                    .getPluginInfo(GetPluginInfoRequest.getDefaultInstance())
                                    .getName())
                    .isEqualTo("csi.kcfs.dev");

            // the metrics the chart's dashboard reads are served from inside the image
            String metrics =
                    HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(
                                                    URI.create(
                                                            "http://127.0.0.1:"
                                                                    + metricsPort
                                                                    + "/metrics"))
                                            .timeout(Duration.ofSeconds(30))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body();
            assertThat(metrics)
                    .contains(
                            "kcfs_store_bytes ",
                            "kcfs_store_logical_bytes ",
                            "kcfs_store_objects ",
                            "kcfs_store_dedup_ratio ",
                            "kcfs_mounts{kind=\"volume\"}",
                            "kcfs_mounts{kind=\"shared\"}");
            assertThat(read(log)).contains("on node image-test");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            stop(node);
        }
        // SIGTERM is a graceful stop: the socket goes away with the process
        assertThat(socket).doesNotExist();
    }

    /**
     * With its node agent on, the plugin in the image talks to an API server over TLS (a fabric8 mock
     * server on the loopback address, reached through --kubeconfig) and reports its ComposefsNode.
     */
    @Test
    void nodeAgentInTheImageReportsToTheApiServer() throws Exception {
        Root.assumeRoot();
        NodeImage image = nodeImage();
        assumeTrue(
                usage(image).contains("--kubeconfig"),
                "skipped: this kcfs-node has no node agent (--kubeconfig) yet");
        KubernetesMockServer api =
                new KubernetesMockServer(
                        new Context(),
                        new MockWebServer(),
                        new HashMap<>(),
                        new KubernetesCrudDispatcher(),
                        true);
        api.init(InetAddress.getByName("127.0.0.1"), 0);
        try (KubernetesClient client = api.createClient()) {
            Path tmp = Files.createDirectories(work.resolve("agent-tmp"));
            // the image has no /etc/hosts: name the server by address; its certificate is
            // self-signed
            Files.writeString(
                    tmp.resolve("kubeconfig"),
                    String.join(
                            "\n",
                            "apiVersion: v1",
                            "kind: Config",
                            "current-context: mock",
                            "clusters: [{name: mock, cluster: {server: 'https://127.0.0.1:"
                                    + api.getPort()
                                    + "', insecure-skip-tls-verify: true}}]",
                            "users: [{name: agent, user: {token: agent-token}}]",
                            "contexts: [{name: mock, context: {cluster: mock, user: agent}}]",
                            ""));
            Path log = work.resolve("agent.log");
            Process node =
                    startNode(
                            image,
                            tmp,
                            List.of("--metrics-port", "-1", "--kubeconfig", "/tmp/kubeconfig"),
                            log);
            try {
                // an idle agent writes its first report after one report interval (30 s)
                long deadline = System.nanoTime() + START_DEADLINE.plusSeconds(60).toNanos();
                ComposefsNode report = null;
                while (report == null || report.getStatus() == null) {
                    assertThat(node.isAlive())
                            .as("the node plugin exited (%s):%n%s", exit(node), read(log))
                            .isTrue();
                    assertThat(System.nanoTime())
                            .as("no ComposefsNode report within %s:%n%s", START_DEADLINE, read(log))
                            .isLessThan(deadline);
                    Thread.sleep(200);
                    report = client.resources(ComposefsNode.class).withName("image-test").get();
                }
                assertThat(read(log)).contains("node agent on (https://127.0.0.1:" + api.getPort());
            } finally {
                stop(node);
            }
        } finally {
            api.destroy();
        }
    }

    /** Probes until the plugin answers (the socket file appears just before the server accepts). */
    private static ProbeResponse awaitProbe(
            Process node, Path socket, ManagedChannel channel, Path log) throws Exception {
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        while (true) {
            assertThat(node.isAlive())
                    .as("the node plugin exited early (%s):%n%s", exit(node), read(log))
                    .isTrue();
            assertThat(System.nanoTime())
                    .as("no Probe answer within %s:%n%s", START_DEADLINE, read(log))
                    .isLessThan(deadline);
            if (Files.exists(socket)) {
                try {
                    return IdentityGrpc.newBlockingStub(channel)
                            .withDeadlineAfter(5, TimeUnit.SECONDS)
                            .probe(ProbeRequest.getDefaultInstance());
                } catch (StatusRuntimeException e) {
                    // not accepting yet: try again
                }
            }
            Thread.sleep(200);
        }
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    private static String exit(Process p) {
        return p.isAlive() ? "running" : "exit " + p.exitValue();
    }
}
