package dev.kcfs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.csi.CsiMetricSamples;
import dev.kcfs.operator.OperatorMetricSamples;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Grafana dashboard asks only for series that the node plugin and the operator really serve. */
class DashboardTest {
    private static final Pattern METRIC = Pattern.compile("\\bkcfs_[a-z0-9_]+");

    @TempDir Path store;

    @Test
    void everyQueriedSeriesIsServed() throws IOException {
        JsonNode dashboard =
                new ObjectMapper()
                        .readTree(
                                RenderedChart.chartDir().resolve("dashboards/kcfs.json").toFile());
        Set<String> queried = new TreeSet<>();
        for (JsonNode expr : dashboard.findValues("expr")) {
            Matcher m = METRIC.matcher(expr.asText());
            while (m.find()) {
                queried.add(m.group());
            }
        }
        // the node variable's query
        Matcher m = METRIC.matcher(dashboard.path("templating").toString());
        while (m.find()) {
            queried.add(m.group());
        }
        Set<String> served = new TreeSet<>();
        served.addAll(sampleNames(CsiMetricSamples.scrape(store)));
        served.addAll(sampleNames(OperatorMetricSamples.scrape()));

        assertThat(queried)
                .as("series the dashboard queries")
                .contains(
                        "kcfs_store_bytes",
                        "kcfs_store_logical_bytes",
                        "kcfs_store_dedup_ratio",
                        "kcfs_images",
                        "kcfs_mounts",
                        "kcfs_publish_duration_seconds_bucket");
        assertThat(served)
                .as("series served by CsiMetrics and OperatorMetrics")
                .containsAll(queried);
    }

    @Test
    void panelsHaveUniqueIdsAndUseTheDatasourceVariable() throws IOException {
        JsonNode dashboard =
                new ObjectMapper()
                        .readTree(
                                RenderedChart.chartDir().resolve("dashboards/kcfs.json").toFile());
        Set<Integer> ids = new TreeSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            assertThat(ids.add(panel.path("id").asInt()))
                    .as("panel id %s", panel.path("id"))
                    .isTrue();
            assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
            assertThat(panel.path("targets").size()).isPositive();
        }
    }

    /** Names of the samples in a Prometheus text exposition (histograms as _bucket/_count/_sum). */
    private static Set<String> sampleNames(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                int end = line.indexOf('{') >= 0 ? line.indexOf('{') : line.indexOf(' ');
                names.add(line.substring(0, end));
            }
        }
        return names;
    }
}
