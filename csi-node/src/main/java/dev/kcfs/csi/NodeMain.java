package dev.kcfs.csi;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.store.Store;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
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
@Command(name = "kcfs-node", mixinStandardHelpOptions = true,
        description = "Serve the kcfs CSI node plugin (driver csi.kcfs.dev) on a Unix socket.")
public final class NodeMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(NodeMain.class);

    @Option(names = "--endpoint", description = "CSI endpoint, unix:///PATH (default: ${DEFAULT-VALUE})",
            defaultValue = "unix:///var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock")
    String endpoint;

    @Option(names = "--node-id", description = "this node's name as Kubernetes knows it (default: $NODE_NAME, else the host name)")
    String nodeId;

    @Option(names = "--store", description = "node store directory (default: ${DEFAULT-VALUE})", defaultValue = "/var/lib/kcfs")
    Path store;

    @Option(names = "--kubelet-dir", description = "kubelet root directory; targets must lie under it (default: ${DEFAULT-VALUE})",
            defaultValue = "/var/lib/kubelet")
    Path kubeletDir;

    @Option(names = "--verity", description = "fs-verity enforcement of image files: OFF, IF_SUPPORTED, REQUIRED"
            + " (default: ${DEFAULT-VALUE})", defaultValue = "IF_SUPPORTED")
    VerityMode verity;

    @Option(names = "--metrics-port", description = "port of the Prometheus /metrics endpoint, -1 to turn it off (default: ${DEFAULT-VALUE})",
            defaultValue = "9820")
    int metricsPort;

    @Override
    public Integer call() throws Exception {
        Path socket = socketOf(endpoint);
        String node = nodeId != null ? nodeId : defaultNodeId();
        String version = NodeMain.class.getPackage().getImplementationVersion();
        // the store first: it refuses to open a non-empty directory that is not yet a store
        StoreImages images = new StoreImages(Store.open(store));
        // the short-lived EROFS mount points go to java.io.tmpdir: the store's tmp/ is swept by the store
        ImageMounter mounter = new ComposefsImageMounter(new ComposefsMounter(), images.store().objects().root(), verity);
        NodePlugin plugin = NodePlugin.start(
                new NodePlugin.Config(socket, node, store, kubeletDir, metricsPort, version == null ? "dev" : version),
                new NodePlugin.Parts(images, images, mounter, ImageAccess.ANY_NAMESPACE, OnDemandBuilds.DISABLED,
                        images));
        LOG.info("kcfs-node {} on node {}: store {}, kubelet dir {}, metrics port {}", version, node, store, kubeletDir,
                plugin.metricsPort());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("stopping: finishing running calls; volumes stay mounted");
            try {
                plugin.stop(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            stopped.countDown();
        }, "shutdown"));
        plugin.awaitTermination();
        stopped.await(30, TimeUnit.SECONDS);
        return 0;
    }

    static Path socketOf(String endpoint) {
        if (!endpoint.startsWith("unix://") || endpoint.length() <= "unix://".length()) {
            throw new CommandLine.ParameterException(new CommandLine(new NodeMain()),
                    "--endpoint " + endpoint + " is not unix:///PATH (kcfs-node serves only Unix sockets)");
        }
        Path p = Path.of(endpoint.substring("unix://".length()));
        if (!p.isAbsolute()) {
            throw new CommandLine.ParameterException(new CommandLine(new NodeMain()),
                    "--endpoint " + endpoint + " must name an absolute path: unix:///PATH");
        }
        return p;
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
