package dev.kcfs.operator;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * Every metric the operator serves, as its real registry prints them: per-image series appear only
 * once an image has a state, which this records once (hence this package).
 */
public final class OperatorMetricSamples {
    private OperatorMetricSamples() {}

    public static String scrape() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OperatorMetrics metrics = new OperatorMetrics(registry);
        metrics.imageState("tools", OperatorMetrics.ImageHealth.Ready, 2, 2, 0);
        metrics.reconciled("ok");
        metrics.resolved("ok", Duration.ofMillis(5));
        return registry.scrape();
    }
}
