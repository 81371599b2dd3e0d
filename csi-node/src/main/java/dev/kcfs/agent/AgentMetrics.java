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
            Gauge.builder("kcfs.images", () -> imagesIn.applyAsInt(s)).tag("state", s.name())
                    .description("images on this node by state").register(registry);
        }
    }

    void built(Duration took, boolean ok, long pulledBytes) {
        Timer.builder("kcfs.build.duration").tag("result", ok ? "ok" : "failed")
                .description("image builds (pull, import, image write)").register(registry).record(took);
        if (pulledBytes > 0) {
            Counter.builder("kcfs.pull.bytes").baseUnit("bytes").description("compressed layer bytes pulled")
                    .register(registry).increment(pulledBytes);
        }
    }

    void gc(long freedBytes) {
        Counter.builder("kcfs.gc.runs").description("finished GC runs").register(registry).increment();
        Counter.builder("kcfs.gc.freed.bytes").baseUnit("bytes").description("bytes GC removed")
                .register(registry).increment(freedBytes);
    }

    void statusWritten() {
        Counter.builder("kcfs.agent.status.writes").description("ComposefsNode status writes")
                .register(registry).increment();
    }
}
