package dev.kcfs.node;

import dev.kcfs.agent.NodeAgent;
import dev.kcfs.api.Verity;
import dev.kcfs.csi.IdentityService;
import dev.kcfs.csi.KubeletRegistration;
import dev.kcfs.csi.NodePlugin;
import dev.kcfs.csi.StoreImages;
import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.StoreImageMounter;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.ImagePolicy;
import dev.kcfs.store.Store;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kcfs-node}: the CSI node plugin process of the kcfs DaemonSet. */
@Command(
        name = "kcfs-node",
        mixinStandardHelpOptions = true,
        description = "Serve the kcfs CSI node plugin (driver csi.kcfs.dev) on a Unix socket.")
public final class NodeMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(NodeMain.class);

    @Option(
            names = "--endpoint",
            description = "CSI endpoint, unix:///PATH (default: ${DEFAULT-VALUE})",
            defaultValue = "unix:///var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock")
    String endpoint;

    @Option(
            names = "--node-id",
            description =
                    "this node's name as Kubernetes knows it (default: $NODE_NAME, else the host name)")
    String nodeId;

    @Option(
            names = "--store",
            description = "node store directory (default: ${DEFAULT-VALUE})",
            defaultValue = "/var/lib/kcfs")
    Path store;

    @Option(
            names = "--kubelet-dir",
            description =
                    "kubelet root directory; targets must lie under it (default: ${DEFAULT-VALUE})",
            defaultValue = "/var/lib/kubelet")
    Path kubeletDir;

    @Option(
            names = "--verity",
            converter = VeritySetting.class,
            description =
                    "fs-verity enforcement of image files:"
                            + " OFF, IF_SUPPORTED, REQUIRED, or as spelled in spec.verity: Disabled, IfSupported, Required (any case;"
                            + " default: ${DEFAULT-VALUE}); REQUIRED holds for every image, else an image's spec.verity wins where the"
                            + " node agent knows it",
            defaultValue = "IF_SUPPORTED")
    VerityMode verity;

    @Option(
            names = "--metrics-port",
            description =
                    "port of the Prometheus /metrics endpoint, -1 to turn it off (default: ${DEFAULT-VALUE})",
            defaultValue = "9820")
    int metricsPort;

    @Option(
            names = "--no-agent",
            description =
                    "serve CSI only: no node agent, no API server access; images must be"
                            + " put into the store by other means")
    boolean noAgent;

    @Option(
            names = "--kubeconfig",
            description =
                    "kubeconfig file of the API server (default: $KUBECONFIG, ~/.kube/config,"
                            + " else the in-cluster service account)")
    Path kubeconfig;

    @Option(
            names = "--cache-max-bytes",
            converter = ByteSize.class,
            description =
                    "evict least recently used unmounted"
                            + " images while the store is larger than this (suffixes K, M, G, T: powers of 1024; 0 = no limit; default: ${DEFAULT-VALUE})",
            defaultValue = "0")
    long cacheMaxBytes;

    @Option(
            names = "--build-concurrency",
            description = "image builds running at once (default: ${DEFAULT-VALUE})",
            defaultValue = "2")
    int buildConcurrency;

    @Option(
            names = "--registration-dir",
            description =
                    "register with kubelet directly, without the"
                            + " node-driver-registrar sidecar: kubelet's plugins_registry directory as this process sees it")
    Path registrationDir;

    @Option(
            names = "--kubelet-registration-path",
            description =
                    "the CSI socket as kubelet sees it on the host, for"
                            + " --registration-dir (default: the --endpoint path)")
    Path kubeletRegistrationPath;

    @Option(
            names = "--plain-http-registry",
            description =
                    "a registry host[:port] to pull from over plain HTTP"
                            + " (repeatable; loopback registries always are)")
    Set<String> plainHttpRegistries = Set.of();

    @Override
    public Integer call() throws Exception {
        Path socket = socketOf(endpoint);
        String node = nodeId != null ? nodeId : defaultNodeId();
        if (buildConcurrency < 1) {
            throw new CommandLine.ParameterException(
                    new CommandLine(this), "--build-concurrency must be at least 1");
        }
        String version = NodeMain.class.getPackage().getImplementationVersion();
        // the store first: it refuses to open a non-empty directory that is not yet a store
        StoreImages storeImages = new StoreImages(Store.open(store));
        KubernetesClient client = noAgent ? null : kubernetesClient();
        NodeAgent agent =
                client == null
                        ? null
                        : new NodeAgent(
                                client,
                                storeImages.store(),
                                agentSettings(node),
                                Clock.systemUTC());
        NodePlugin plugin =
                NodePlugin.start(
                        new NodePlugin.Config(
                                socket,
                                node,
                                store,
                                kubeletDir,
                                metricsPort,
                                version == null ? "dev" : version),
                        pluginParts(storeImages, agent));
        if (agent != null) {
            agent.start(plugin.volumes(), plugin.metrics().registry());
        }
        // last: kubelet sends calls as soon as it has registered the driver
        KubeletRegistration registration =
                registrationDir == null
                        ? null
                        : KubeletRegistration.start(
                                registrationDir,
                                IdentityService.DRIVER_NAME,
                                kubeletRegistrationPath != null ? kubeletRegistrationPath : socket);
        LOG.info(
                "kcfs-node {} on node {}: store {}, kubelet dir {}, metrics port {}, node agent {}",
                version,
                node,
                store,
                kubeletDir,
                plugin.metricsPort(),
                agent == null ? "off" : "on (" + client.getMasterUrl() + ")");
        CountDownLatch stopped = new CountDownLatch(1);
        NodeAgent runningAgent = agent;
        KubernetesClient runningClient = client;
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    LOG.info(
                                            "stopping: finishing running calls; volumes stay mounted");
                                    try {
                                        if (registration != null) {
                                            registration.close();
                                        }
                                        if (runningAgent != null) {
                                            runningAgent.close();
                                        }
                                        plugin.stop(20, TimeUnit.SECONDS);
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    } finally {
                                        if (runningClient != null) {
                                            runningClient.close();
                                        }
                                    }
                                    stopped.countDown();
                                },
                                "shutdown"));
        plugin.awaitTermination();
        stopped.await(30, TimeUnit.SECONDS);
        return 0;
    }

    private KubernetesClient kubernetesClient() throws IOException {
        return kubeconfig == null
                ? new KubernetesClientBuilder().build()
                : new KubernetesClientBuilder()
                        .withConfig(
                                // the file, so relative certificate paths in it resolve beside it
                                Config.fromKubeconfig(kubeconfig.toFile()))
                        .build();
    }

    private NodeAgent.Settings agentSettings(String node) {
        return NodeAgent.Settings.defaults(node)
                .withBuildConcurrency(buildConcurrency)
                .withCacheMaxBytes(cacheMaxBytes)
                .withPlainHttpRegistries(plainHttpRegistries);
    }

    /**
     * The CSI plugin over the store: its images and numbers, its mount records, the composefs mounter
     * (the short-lived EROFS mount points go to java.io.tmpdir: the store's tmp/ is swept by the store),
     * and what the cluster says about each image: the agent's policy (spec.verity of each
     * ComposefsImage where the agent knows it, else --verity), or --verity alone without an agent.
     */
    private NodePlugin.Parts pluginParts(StoreImages storeImages, NodeAgent agent) {
        ImagePolicy policy = agent == null ? ImagePolicy.standalone(verity) : agent.policy(verity);
        return NodePlugin.Parts.overStore(storeImages)
                .mounter(new StoreImageMounter(storeImages.store(), new ComposefsMounter()))
                .policy(policy);
    }

    static Path socketOf(String endpoint) {
        if (!endpoint.startsWith("unix://") || endpoint.length() <= "unix://".length()) {
            throw new CommandLine.ParameterException(
                    new CommandLine(new NodeMain()),
                    "--endpoint "
                            + endpoint
                            + " is not unix:///PATH (kcfs-node serves only Unix sockets)");
        }
        Path p = Path.of(endpoint.substring("unix://".length()));
        if (!p.isAbsolute()) {
            throw new CommandLine.ParameterException(
                    new CommandLine(new NodeMain()),
                    "--endpoint " + endpoint + " must name an absolute path: unix:///PATH");
        }
        return p;
    }

    /** {@code --verity} in either spelling, read by {@link Verity#parseMode}. */
    static final class VeritySetting implements CommandLine.ITypeConverter<VerityMode> {
        @Override
        public VerityMode convert(String value) {
            try {
                return Verity.parseMode(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** Byte counts with optional binary suffixes: 512, 64K, 10G. */
    static final class ByteSize implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String v = value.trim().toUpperCase(Locale.ROOT);
            long unit = 1;
            if (v.endsWith("IB")) {
                v = v.substring(0, v.length() - 2);
            } else if (v.endsWith("B")
                    && v.length() > 1
                    && !Character.isDigit(v.charAt(v.length() - 2))) {
                v = v.substring(0, v.length() - 1);
            }
            if (!v.isEmpty()) {
                int shift = "KMGT".indexOf(v.charAt(v.length() - 1));
                if (shift >= 0) {
                    unit = 1L << (10 * (shift + 1));
                    v = v.substring(0, v.length() - 1);
                }
            }
            try {
                long n = Long.parseLong(v);
                if (n < 0) {
                    throw new CommandLine.TypeConversionException(
                            "'" + value + "' is negative; give a size like 20G");
                }
                return Math.multiplyExact(n, unit);
            } catch (NumberFormatException | ArithmeticException e) {
                throw new CommandLine.TypeConversionException(
                        "'" + value + "' is not a size like 20G, 512M or 1073741824");
            }
        }
    }

    private static String defaultNodeId() throws IOException {
        String env = System.getenv("NODE_NAME");
        return env != null && !env.isEmpty() ? env : InetAddress.getLocalHost().getHostName();
    }

    public static void main(String[] args) {
        // gRPC and netty log through java.util.logging
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(new CommandLine(new NodeMain()).execute(args));
    }
}
