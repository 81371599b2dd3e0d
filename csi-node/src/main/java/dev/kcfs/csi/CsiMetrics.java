package dev.kcfs.csi;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node plugin's Prometheus metrics (docs/architecture.md, 'Metrics'): publishes, errors by RPC
 * and code, the publish latency histogram, mounts, and store statistics.
 */
public final class CsiMetrics {
    private final PrometheusMeterRegistry registry =
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    /**
     * Scrapes within this time share one store snapshot: the store gauges agree with each other,
     * and the object store (possibly millions of files) is walked at most once a minute.
     */
    private static final long STORE_SNAPSHOT_TTL_NANOS = 60_000_000_000L;

    /** The {@code result} tag of a publish that succeeded; failures carry their gRPC code. */
    static final String OK = "OK";

    private final StoreUsage storeStats;
    private final AtomicReference<Timed> storeSnapshot = new AtomicReference<>();

    private record Timed(StoreUsage.Snapshot snapshot, long takenAt) {}

    public CsiMetrics(PublishedVolumes volumes, StoreUsage storeStats) {
        this.storeStats = storeStats;
        Gauge.builder("kcfs.mounts", volumes, PublishedVolumes::volumeCount)
                .tag("kind", "volume")
                .description("volumes published into pods")
                .register(registry);
        Gauge.builder("kcfs.mounts", volumes, PublishedVolumes::sharedMountCount)
                .tag("kind", "shared")
                .description("node-wide image mounts under mounts/")
                .register(registry);
        Gauge.builder("kcfs.store.objects", () -> store().objects())
                .description("files in the object store")
                .register(registry);
        Gauge.builder("kcfs.store.bytes", () -> store().bytes())
                .baseUnit("bytes")
                .description("bytes the object store uses")
                .register(registry);
        Gauge.builder("kcfs.store.logical.bytes", () -> store().logicalBytes())
                .baseUnit("bytes")
                .description("bytes the images reference")
                .register(registry);
        Gauge.builder(
                        "kcfs.store.dedup.ratio",
                        () -> {
                            StoreUsage.Snapshot s = store();
                            return s.bytes() == 0 ? 1.0 : (double) s.logicalBytes() / s.bytes();
                        })
                .description("logical bytes per stored byte")
                .register(registry);
        // The series of the usual outcomes exist from the start at 0: Prometheus' rate() needs two
        // samples of a series, so a counter born at its first event hides that event until the
        // next scrapes (on the real cluster the dashboard's publish latency, and later its errors
        // panel, stayed empty after a plugin restart).
        for (PublishedVolumes.Outcome outcome : PublishedVolumes.Outcome.values()) {
            publishes(outcome);
        }
        unpublishes();
        publishTimer(OK);
        for (String rpc : VOLUME_RPCS) {
            for (io.grpc.Status.Code code : ANSWERED_CODES) {
                errors(rpc, code);
            }
        }
    }

    /** The calls about volumes, whose errors the dashboard shows by call and code. */
    static final List<String> VOLUME_RPCS =
            List.of("NodePublishVolume", "NodeUnpublishVolume", "NodeGetVolumeStats");

    /** The codes the plugin answers a failed call with (CsiException's and the request checks'). */
    static final List<io.grpc.Status.Code> ANSWERED_CODES =
            List.of(
                    io.grpc.Status.Code.INVALID_ARGUMENT,
                    io.grpc.Status.Code.NOT_FOUND,
                    io.grpc.Status.Code.ALREADY_EXISTS,
                    io.grpc.Status.Code.PERMISSION_DENIED,
                    io.grpc.Status.Code.FAILED_PRECONDITION,
                    io.grpc.Status.Code.ABORTED,
                    io.grpc.Status.Code.UNAVAILABLE,
                    io.grpc.Status.Code.DEADLINE_EXCEEDED,
                    io.grpc.Status.Code.INTERNAL);

    private StoreUsage.Snapshot store() {
        Timed last = storeSnapshot.get();
        long now = System.nanoTime();
        if (last == null || now - last.takenAt() > STORE_SNAPSHOT_TTL_NANOS) {
            try {
                last = new Timed(storeStats.snapshot(), now);
            } catch (RuntimeException e) {
                // a broken store must not break the scrape: report the last numbers (or zeros)
                last =
                        new Timed(
                                last == null ? new StoreUsage.Snapshot(0, 0, 0) : last.snapshot(),
                                now);
            }
            storeSnapshot.set(last);
        }
        return last.snapshot();
    }

    private Counter publishes(PublishedVolumes.Outcome outcome) {
        return Counter.builder("kcfs.csi.publishes")
                .tag(
                        "outcome",
                        outcome == PublishedVolumes.Outcome.MOUNTED
                                ? "mounted"
                                : "already_published")
                .description("successful NodePublishVolume calls")
                .register(registry);
    }

    private Counter unpublishes() {
        return Counter.builder("kcfs.csi.unpublishes")
                .description("successful NodeUnpublishVolume calls")
                .register(registry);
    }

    private Timer publishTimer(String result) {
        return Timer.builder("kcfs.publish.duration")
                .tag("result", result)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(2))
                .description("NodePublishVolume latency")
                .register(registry);
    }

    void published(PublishedVolumes.Outcome outcome) {
        publishes(outcome).increment();
    }

    void unpublished() {
        unpublishes().increment();
    }

    void error(String rpc, io.grpc.Status.Code code) {
        errors(rpc, code).increment();
    }

    private Counter errors(String rpc, io.grpc.Status.Code code) {
        return Counter.builder("kcfs.csi.errors")
                .tag("rpc", rpc)
                .tag("code", code.name())
                .description("CSI calls that returned an error")
                .register(registry);
    }

    void publishDuration(long nanos, String result) {
        publishTimer(result).record(Duration.ofNanos(nanos));
    }

    /** Where the node agent registers its metrics, so one /metrics serves both. */
    public io.micrometer.core.instrument.MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        return registry.scrape();
    }
}
