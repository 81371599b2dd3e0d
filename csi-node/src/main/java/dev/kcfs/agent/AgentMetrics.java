package dev.kcfs.agent;

import dev.kcfs.api.ImageState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.ToIntFunction;

/** The node agent's Prometheus metrics (docs/architecture.md, 'Metrics'), next to the CSI plugin's. */
final class AgentMetrics {
    private final MeterRegistry registry;

    AgentMetrics(MeterRegistry registry, ToIntFunction<ImageState> imagesIn) {
        this.registry = registry;
        for (ImageState s : ImageState.values()) {
            Gauge.builder("kcfs.images", () -> imagesIn.applyAsInt(s))
                    .tag("state", s.name())
                    .description("images on this node by state")
                    .register(registry);
        }
        pulled(0, 0, 0, 0, 0); // the pull series exist at 0, so rate() sees the first pull
    }

    void built(Duration took, boolean ok) {
        Timer.builder("kcfs.build.duration")
                .tag("result", ok ? "ok" : "failed")
                .description("image builds (pull, import, image write)")
                .register(registry)
                .record(took);
    }

    /**
     * What a build's pull transferred: {@code kcfs_pull_bytes_total} counts bytes fetched from the
     * registry, {@code kcfs_pull_layer_bytes_total} the compressed size of the layers; they differ
     * when zstd:chunked layers were pulled partially. {@code kcfs_pull_layers_total{how}} says how:
     * whole, partial, or stored (not fetched: the manifest's image was already in the store).
     */
    void pulled(
            long bytesFetched,
            long layerBytes,
            int wholeLayers,
            int partialLayers,
            int storedLayers) {
        Counter.builder("kcfs.pull.bytes")
                .baseUnit("bytes")
                .description("bytes fetched from registries")
                .register(registry)
                .increment(bytesFetched);
        Counter.builder("kcfs.pull.layer.bytes")
                .baseUnit("bytes")
                .description("compressed bytes of the layers pulled")
                .register(registry)
                .increment(layerBytes);
        layers("whole").increment(wholeLayers);
        layers("partial").increment(partialLayers);
        layers("stored").increment(storedLayers);
    }

    /** {@code kcfs_node_events_total{type}}: Kubernetes events this node wrote. */
    void eventWritten(String type) {
        Counter.builder("kcfs.node.events")
                .tag("type", type)
                .description("Kubernetes events written by the node agent")
                .register(registry)
                .increment();
    }

    private Counter layers(String how) {
        return Counter.builder("kcfs.pull.layers")
                .tag("how", how)
                .description(
                        "layers pulled whole, partially (zstd:chunked, only what the store lacked) or not at all (image already stored)")
                .register(registry);
    }

    void gc(long freedBytes) {
        Counter.builder("kcfs.gc.runs")
                .description("finished GC runs")
                .register(registry)
                .increment();
        Counter.builder("kcfs.gc.freed.bytes")
                .baseUnit("bytes")
                .description("bytes GC removed")
                .register(registry)
                .increment(freedBytes);
    }

    void statusWritten() {
        Counter.builder("kcfs.agent.status.writes")
                .description("ComposefsNode status writes")
                .register(registry)
                .increment();
    }
}
