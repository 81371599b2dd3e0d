package dev.kcfs.operator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator's Prometheus metrics (docs/architecture.md, 'Metrics'). Per-image gauges are the only
 * labelled-by-name series; they are removed when the image goes, so series stay O(images).
 */
public final class OperatorMetrics {
    /** Overall state of an image, for kcfs_images{state}. */
    enum ImageHealth {
        Unresolved,
        Progressing,
        Ready,
        Degraded,
        Invalid
    }

    private final MeterRegistry registry;
    private final Map<String, ImageHealth> health = new ConcurrentHashMap<>();
    private final Map<String, int[]> nodeCounts = new ConcurrentHashMap<>();
    private final Map<String, List<Gauge>> perImage = new ConcurrentHashMap<>();

    public OperatorMetrics(MeterRegistry registry) {
        this.registry = registry;
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        for (ImageHealth h : ImageHealth.values()) {
            Gauge.builder(
                            "kcfs_images",
                            health,
                            m -> m.values().stream().filter(v -> v == h).count())
                    .description("ComposefsImages by overall state")
                    .tag("state", h.name())
                    .register(registry);
        }
    }

    public MeterRegistry registry() {
        return registry;
    }

    void reconciled(String outcome) {
        Counter.builder("kcfs_operator_reconciles_total")
                .description("reconciles of ComposefsImages by outcome")
                .tag("outcome", outcome)
                .register(registry)
                .increment();
    }

    void statusWritten() {
        Counter.builder("kcfs_operator_status_writes_total")
                .description("ComposefsImage status writes")
                .register(registry)
                .increment();
    }

    void eventWritten(String type) {
        Counter.builder("kcfs_operator_events_total")
                .description("Kubernetes events written")
                .tag("type", type)
                .register(registry)
                .increment();
    }

    void resolved(String result, Duration took) {
        Timer.builder("kcfs_operator_resolve_duration_seconds")
                .description("time to pin an image tag to a digest")
                .tag("result", result)
                .register(registry)
                .record(took);
    }

    void imageState(String imageName, ImageHealth h, int desired, int ready, int failed) {
        health.put(imageName, h);
        int[] counts =
                nodeCounts.computeIfAbsent(
                        imageName,
                        name -> {
                            int[] c = new int[3];
                            List<Gauge> gauges = new ArrayList<>();
                            String[] kinds = {"desired", "ready", "failed"};
                            for (int i = 0; i < 3; i++) {
                                int k = i;
                                gauges.add(
                                        Gauge.builder("kcfs_image_nodes", c, a -> a[k])
                                                .description("nodes per image by state")
                                                .tags("image", name, "state", kinds[k])
                                                .register(registry));
                            }
                            perImage.put(name, gauges);
                            return c;
                        });
        counts[0] = desired;
        counts[1] = ready;
        counts[2] = failed;
    }

    void imageGone(String imageName) {
        health.remove(imageName);
        nodeCounts.remove(imageName);
        List<Gauge> gauges = perImage.remove(imageName);
        if (gauges != null) {
            gauges.forEach(registry::remove);
        }
    }

    /** Counter value for tests and the scale benchmark. */
    public double count(String name) {
        return registry.find(name).counters().stream().mapToDouble(Counter::count).sum();
    }
}
