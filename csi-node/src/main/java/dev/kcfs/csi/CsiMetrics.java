package dev.kcfs.csi;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node plugin's Prometheus metrics (names as in ARCHITECTURE.md §8): publishes, errors by RPC
 * and code, the publish latency histogram, mounts, and store statistics.
 */
public final class CsiMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicReference<StoreStats.Snapshot> storeSnapshot =
            new AtomicReference<>(new StoreStats.Snapshot(0, 0, 0));

    public CsiMetrics(PublishedVolumes volumes, StoreStats storeStats) {
        Gauge.builder("kcfs.mounts", volumes, PublishedVolumes::volumeCount).tag("kind", "volume")
                .description("volumes published into pods").register(registry);
        Gauge.builder("kcfs.mounts", volumes, PublishedVolumes::sharedMountCount).tag("kind", "shared")
                .description("node-wide image mounts under mounts/").register(registry);
        // one store walk per scrape at most: the three gauges read the same snapshot
        Gauge.builder("kcfs.store.objects", () -> refresh(storeStats).objects())
                .description("files in the object store").register(registry);
        Gauge.builder("kcfs.store.bytes", () -> storeSnapshot.get().bytes()).baseUnit("bytes")
                .description("bytes the object store uses").register(registry);
        Gauge.builder("kcfs.store.logical.bytes", () -> storeSnapshot.get().logicalBytes()).baseUnit("bytes")
                .description("bytes the images reference").register(registry);
        Gauge.builder("kcfs.store.dedup.ratio", () -> {
            StoreStats.Snapshot s = storeSnapshot.get();
            return s.bytes() == 0 ? 1.0 : (double) s.logicalBytes() / s.bytes();
        }).description("logical bytes per stored byte").register(registry);
    }

    private StoreStats.Snapshot refresh(StoreStats stats) {
        try {
            storeSnapshot.set(stats.snapshot());
        } catch (RuntimeException e) {
            // a broken store must not break the scrape; the other gauges keep their last values
        }
        return storeSnapshot.get();
    }

    void published(PublishedVolumes.Outcome outcome) {
        Counter.builder("kcfs.csi.publishes").tag("outcome", outcome == PublishedVolumes.Outcome.MOUNTED
                ? "mounted" : "already_published").description("successful NodePublishVolume calls")
                .register(registry).increment();
    }

    void unpublished() {
        Counter.builder("kcfs.csi.unpublishes").description("successful NodeUnpublishVolume calls")
                .register(registry).increment();
    }

    void error(String rpc, io.grpc.Status.Code code) {
        Counter.builder("kcfs.csi.errors").tag("rpc", rpc).tag("code", code.name())
                .description("CSI calls that returned an error").register(registry).increment();
    }

    void publishDuration(long nanos, String result) {
        Timer.builder("kcfs.publish.duration").tag("result", result).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(2))
                .description("NodePublishVolume latency").register(registry)
                .record(Duration.ofNanos(nanos));
    }

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        return registry.scrape();
    }
}
