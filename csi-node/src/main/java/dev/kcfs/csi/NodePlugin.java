package dev.kcfs.csi;

import dev.kcfs.http.MetricsServer;
import dev.kcfs.mount.ImageMounter;
import dev.kcfs.mount.KernelMounts;
import dev.kcfs.mount.MountRecords;
import dev.kcfs.mount.MountTable;
import dev.kcfs.publish.BuiltImages;
import dev.kcfs.publish.ImagePolicy;
import io.grpc.BindableService;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running node plugin: recovers the published volumes from the mount table, then serves the
 * CSI services on the Unix socket and the metrics over HTTP. {@code main} and tests wire it.
 */
public final class NodePlugin implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodePlugin.class);

    /** Where things are; {@code metricsPort} -1 turns the metrics endpoint off, 0 picks a free port. */
    public record Config(
            Path socket,
            String nodeId,
            Path storeRoot,
            Path kubeletDir,
            int metricsPort,
            String version) {}

    /**
     * The parts that come from the store and the mount code, and what the cluster says about each
     * image, set by name: {@code images} finds an image's digest, {@code storeStats} gives the numbers
     * for /metrics, {@code mountRecords} the shared mounts in use, {@code mounter} mounts an image, and
     * {@code policy} is the node agent's or {@link ImagePolicy#standalone} without it. {@link #overStore}
     * sets the first three from the node store. Every part is required.
     */
    public static final class Parts {
        private BuiltImages images;
        private StoreUsage storeStats;
        private MountRecords mountRecords;
        private ImageMounter mounter;
        private ImagePolicy policy;

        private Parts() {}

        /** No part set yet. */
        public static Parts of() {
            return new Parts();
        }

        /** The node store's images, numbers and mount records. */
        public static Parts overStore(StoreImages store) {
            return of().images(store)
                    .storeStats(store)
                    .mountRecords(MountRecords.of(store.store()));
        }

        public Parts images(BuiltImages images) {
            this.images = images;
            return this;
        }

        public Parts storeStats(StoreUsage storeStats) {
            this.storeStats = storeStats;
            return this;
        }

        public Parts mountRecords(MountRecords mountRecords) {
            this.mountRecords = mountRecords;
            return this;
        }

        public Parts mounter(ImageMounter mounter) {
            this.mounter = mounter;
            return this;
        }

        public Parts policy(ImagePolicy policy) {
            this.policy = policy;
            return this;
        }

        private void check() {
            Objects.requireNonNull(images, "NodePlugin.Parts.images is not set");
            Objects.requireNonNull(storeStats, "NodePlugin.Parts.storeStats is not set");
            Objects.requireNonNull(mountRecords, "NodePlugin.Parts.mountRecords is not set");
            Objects.requireNonNull(mounter, "NodePlugin.Parts.mounter is not set");
            Objects.requireNonNull(policy, "NodePlugin.Parts.policy is not set");
        }
    }

    private final PublishedVolumes volumes;
    private final CsiServer server;
    private final MetricsServer metricsServer;
    private final PublishedVolumes.RecoveryReport recovery;
    private final CsiMetrics metrics;

    private NodePlugin(
            PublishedVolumes volumes,
            CsiServer server,
            MetricsServer metricsServer,
            PublishedVolumes.RecoveryReport recovery,
            CsiMetrics metrics) {
        this.metrics = metrics;
        this.volumes = volumes;
        this.server = server;
        this.metricsServer = metricsServer;
        this.recovery = recovery;
    }

    public static NodePlugin start(Config config, Parts parts) throws IOException {
        parts.check();
        Path storeRoot = config.storeRoot().toAbsolutePath().normalize();
        Path kubeletDir = config.kubeletDir().toAbsolutePath().normalize();
        Files.createDirectories(storeRoot);
        PublishedVolumes volumes =
                new PublishedVolumes(
                        storeRoot,
                        kubeletDir,
                        parts.mountRecords,
                        parts.mounter,
                        parts.policy.verity(),
                        new KernelMounts());
        // recover before serving, so no call sees half-rebuilt state
        PublishedVolumes.RecoveryReport recovery = volumes.recover(kubeletDir);
        LOG.info("recovered from the mount table: {}", recovery);
        CsiMetrics metrics = new CsiMetrics(volumes, parts.storeStats);
        NodeService node =
                new NodeService(
                        config.nodeId(), kubeletDir, volumes, parts.images, parts.policy, metrics);
        List<BindableService> services =
                List.of(
                        new IdentityService(config.version(), () -> health(storeRoot, kubeletDir)),
                        node,
                        new ControllerService());
        MetricsServer metricsServer =
                config.metricsPort() < 0
                        ? null
                        : MetricsServer.start(
                                new InetSocketAddress(config.metricsPort()),
                                metrics::scrape,
                                () -> health(storeRoot, kubeletDir));
        CsiServer server;
        try {
            server = CsiServer.start(config.socket(), services);
        } catch (IOException | RuntimeException e) {
            if (metricsServer != null) {
                metricsServer.close();
            }
            throw e;
        }
        return new NodePlugin(volumes, server, metricsServer, recovery, metrics);
    }

    /** What keeps the plugin from working, if anything: checked on every Probe. */
    static Optional<String> health(Path storeRoot, Path kubeletDir) {
        if (!Files.isDirectory(storeRoot)) {
            return Optional.of(
                    "the node store "
                            + storeRoot
                            + " is gone; check the hostPath volume of the kcfs DaemonSet");
        }
        if (!Files.isDirectory(kubeletDir)) {
            return Optional.of(
                    "the kubelet directory "
                            + kubeletDir
                            + " does not exist; set --kubelet-dir to kubelet's --root-dir");
        }
        try {
            MountTable.read();
        } catch (RuntimeException e) {
            return Optional.of("cannot read the mount table: " + e.getMessage());
        }
        return Optional.empty();
    }

    public PublishedVolumes volumes() {
        return volumes;
    }

    /** The metrics behind /metrics; the node agent adds its own to them. */
    public CsiMetrics metrics() {
        return metrics;
    }

    public PublishedVolumes.RecoveryReport recovery() {
        return recovery;
    }

    /** The metrics port, or -1 when the endpoint is off. */
    public int metricsPort() {
        return metricsServer == null ? -1 : metricsServer.port();
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /** Graceful stop: the mounts stay, so pods keep their volumes while the plugin restarts. */
    public void stop(long grace, TimeUnit unit) throws InterruptedException {
        server.stop(grace, unit);
        if (metricsServer != null) {
            metricsServer.close();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop(10, TimeUnit.SECONDS);
    }
}
