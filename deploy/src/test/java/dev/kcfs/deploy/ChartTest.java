package dev.kcfs.deploy;

import static dev.kcfs.deploy.RenderedChart.args;
import static dev.kcfs.deploy.RenderedChart.container;
import static dev.kcfs.deploy.RenderedChart.env;
import static dev.kcfs.deploy.RenderedChart.mounts;
import static dev.kcfs.deploy.RenderedChart.volume;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.kcfs.testing.SharedAssets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** charts/kcfs: lint, what the templates render with defaults and with overrides, and bad values. */
class ChartTest {
    private static final String NODE_DS = "kcfs-node";
    private static final String OPERATOR = "kcfs-operator";

    @Test
    void lintsClean() {
        LintResult result = new Helm(RenderedChart.chartDir()).lint().strict().call();
        assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages())
                .noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
    }

    @Test
    void nodeDaemonSetWithDefaults() {
        RenderedChart chart = RenderedChart.render();
        JsonNode ds = chart.get("DaemonSet", NODE_DS);
        assertThat(ds.path("metadata").path("namespace").asText())
                .isEqualTo(RenderedChart.NAMESPACE);
        JsonNode plugin = container(ds, "kcfs-node");
        assertThat(plugin.path("image").asText()).isEqualTo("ghcr.io/kcfs/kcfs-node:0.1.0");
        assertThat(plugin.path("securityContext").path("privileged").asBoolean()).isTrue();
        assertThat(args(plugin))
                .containsExactly(
                        "--endpoint=unix:///csi/csi.sock",
                        "--node-id=$(NODE_NAME)",
                        "--store=/var/lib/kcfs",
                        "--kubelet-dir=/var/lib/kubelet",
                        "--verity=IF_SUPPORTED",
                        "--metrics-port=9820",
                        "--build-concurrency=2");
        JsonNode nodeName = env(plugin).get("NODE_NAME");
        assertThat(nodeName.path("valueFrom").path("fieldRef").path("fieldPath").asText())
                .isEqualTo("spec.nodeName");
        assertThat(env(plugin).get("JAVA_TOOL_OPTIONS").path("value").asText())
                .isEqualTo("-Dkcfs.log.level=INFO");

        Map<String, JsonNode> pluginMounts = mounts(plugin);
        assertThat(pluginMounts.get("/var/lib/kubelet").path("mountPropagation").asText())
                .isEqualTo("Bidirectional");
        assertThat(pluginMounts.get("/var/lib/kubelet").path("name").asText())
                .isEqualTo("kubelet-dir");
        assertThat(pluginMounts.get("/var/lib/kcfs").path("mountPropagation").asText())
                .isEqualTo("Bidirectional");
        assertThat(pluginMounts.get("/csi").path("name").asText()).isEqualTo("plugin-dir");
        assertThat(pluginMounts.get("/dev").path("name").asText()).isEqualTo("dev");
        assertThat(pluginMounts).containsKey("/tmp");

        // the socket: /csi/csi.sock in the containers is <kubeletDir>/plugins/csi.kcfs.dev/csi.sock
        // on the host
        assertThat(volume(ds, "plugin-dir").path("hostPath").path("path").asText())
                .isEqualTo("/var/lib/kubelet/plugins/csi.kcfs.dev");
        assertThat(volume(ds, "registration-dir").path("hostPath").path("path").asText())
                .isEqualTo("/var/lib/kubelet/plugins_registry");
        assertThat(volume(ds, "kubelet-dir").path("hostPath").path("path").asText())
                .isEqualTo("/var/lib/kubelet");
        assertThat(volume(ds, "store").path("hostPath").path("path").asText())
                .isEqualTo("/var/lib/kcfs");
        assertThat(volume(ds, "dev").path("hostPath").path("path").asText()).isEqualTo("/dev");

        JsonNode registrar = container(ds, "node-driver-registrar");
        assertThat(registrar.path("image").asText())
                .isEqualTo("registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0");
        assertThat(args(registrar))
                .contains(
                        "--csi-address=/csi/csi.sock",
                        "--kubelet-registration-path=/var/lib/kubelet/plugins/csi.kcfs.dev/csi.sock");
        assertThat(mounts(registrar).get("/registration").path("name").asText())
                .isEqualTo("registration-dir");
        assertThat(registrar.path("securityContext").path("privileged").asBoolean()).isFalse();

        JsonNode probe = container(ds, "liveness-probe");
        assertThat(probe.path("image").asText())
                .isEqualTo("registry.k8s.io/sig-storage/livenessprobe:v2.19.0");
        assertThat(args(probe))
                .containsExactly("--csi-address=/csi/csi.sock", "--http-endpoint=:9809");
        // kubelet's liveness check of the plugin goes through the livenessprobe sidecar's port
        assertThat(plugin.path("livenessProbe").path("httpGet").path("port").asText())
                .isEqualTo("healthz");
        assertThat(plugin.path("ports").findValuesAsText("containerPort")).contains("9809", "9820");

        JsonNode podSpec = ds.path("spec").path("template").path("spec");
        assertThat(podSpec.path("serviceAccountName").asText()).isEqualTo(NODE_DS);
        assertThat(podSpec.path("priorityClassName").asText()).isEqualTo("system-node-critical");
        assertThat(podSpec.path("tolerations").get(0).path("operator").asText())
                .isEqualTo("Exists");
    }

    @Test
    void operatorDeploymentWithDefaults() {
        RenderedChart chart = RenderedChart.render();
        JsonNode deploy = chart.get("Deployment", OPERATOR);
        JsonNode operator = container(deploy, "operator");
        assertThat(operator.path("image").asText()).isEqualTo("ghcr.io/kcfs/kcfs-operator:0.1.0");
        assertThat(args(operator))
                .containsExactly(
                        "--metrics-address=0.0.0.0:8080",
                        "--lease-name=kcfs-operator",
                        "--lease-namespace=" + RenderedChart.NAMESPACE,
                        "--event-namespace=default",
                        "--release-timeout=PT10M");
        assertThat(
                        env(operator)
                                .get("POD_NAME")
                                .path("valueFrom")
                                .path("fieldRef")
                                .path("fieldPath")
                                .asText())
                .isEqualTo("metadata.name");
        JsonNode podSpec = deploy.path("spec").path("template").path("spec");
        assertThat(podSpec.path("serviceAccountName").asText()).isEqualTo(OPERATOR);
        assertThat(podSpec.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(operator.path("securityContext").path("privileged").asBoolean()).isFalse();
        assertThat(
                        operator.path("securityContext")
                                .path("allowPrivilegeEscalation")
                                .asBoolean(true))
                .isFalse();
        // a standby replica answers 503 on /healthz: probing it would stall rolling updates
        assertThat(operator.path("readinessProbe").path("tcpSocket").path("port").asText())
                .isEqualTo("metrics");
        assertThat(operator.path("livenessProbe").path("tcpSocket").path("port").asText())
                .isEqualTo("metrics");
        // no host access at all
        assertThat(podSpec.path("volumes").findValues("hostPath")).isEmpty();
        assertThat(podSpec.path("hostNetwork").asBoolean()).isFalse();
    }

    @Test
    void csiDriver() {
        JsonNode driver = RenderedChart.render().get("CSIDriver", "csi.kcfs.dev");
        JsonNode spec = driver.path("spec");
        assertThat(spec.path("attachRequired").isBoolean()).isTrue();
        assertThat(spec.path("attachRequired").asBoolean()).isFalse();
        assertThat(spec.path("podInfoOnMount").asBoolean()).isTrue();
        assertThat(spec.path("volumeLifecycleModes").findValuesAsText("")).isEmpty();
        assertThat(
                        List.of(
                                spec.path("volumeLifecycleModes").get(0).asText(),
                                spec.path("volumeLifecycleModes").get(1).asText()))
                .containsExactly("Ephemeral", "Persistent");
        assertThat(spec.path("volumeLifecycleModes").size()).isEqualTo(2);
        assertThat(spec.path("fsGroupPolicy").asText()).isEqualTo("None");
    }

    @Test
    void optionalPartsAreOffByDefault() {
        RenderedChart chart = RenderedChart.render();
        assertThat(chart.ofKind("ServiceMonitor")).isEmpty();
        assertThat(chart.ofKind("ConfigMap")).isEmpty();
        // metrics services exist regardless, for any scraper
        assertThat(
                        chart.get("Service", "kcfs-node-metrics")
                                .path("spec")
                                .path("ports")
                                .get(0)
                                .path("port")
                                .asInt())
                .isEqualTo(9820);
        assertThat(
                        chart.get("Service", "kcfs-operator-metrics")
                                .path("spec")
                                .path("ports")
                                .get(0)
                                .path("port")
                                .asInt())
                .isEqualTo(8080);
    }

    @Test
    void overrides() {
        RenderedChart chart =
                RenderedChart.render(
                        Map.ofEntries(
                                Map.entry("kubeletDir", "/var/lib/k0s/kubelet"),
                                Map.entry("logLevel", "debug"),
                                Map.entry("node.storeDir", "/data/kcfs"),
                                Map.entry("node.verity", "REQUIRED"),
                                Map.entry("node.cacheMaxBytes", "107374182400"),
                                Map.entry("node.buildConcurrency", "4"),
                                Map.entry("node.hostDev", "false"),
                                Map.entry("node.metricsPort", "9999"),
                                Map.entry("node.extraJavaOptions", "-Xmx700m"),
                                Map.entry("node.image.repository", "registry.example/kcfs/node"),
                                Map.entry("node.image.tag", "1.2.3"),
                                Map.entry("node.image.pullPolicy", "Always"),
                                Map.entry("node.nodeSelector.kcfs\\.dev/enabled", "true"),
                                Map.entry("operator.image.tag", "9.9.9"),
                                Map.entry("plainHttpRegistries[0]", "registry.local:5000"),
                                Map.entry(
                                        "sidecars.nodeDriverRegistrar.image.repository",
                                        "mirror.example/registrar"),
                                Map.entry("sidecars.nodeDriverRegistrar.image.tag", "v9.0.0"),
                                Map.entry(
                                        "sidecars.livenessProbe.image.repository",
                                        "mirror.example/livenessprobe"),
                                Map.entry("sidecars.livenessProbe.image.tag", "v8.0.0"),
                                Map.entry("sidecars.livenessProbe.healthPort", "9111"),
                                Map.entry("serviceMonitor.enabled", "true"),
                                Map.entry("serviceMonitor.labels.release", "prom"),
                                Map.entry("dashboard.enabled", "true"),
                                Map.entry("imagePullSecrets[0]", "regcred")));
        JsonNode ds = chart.get("DaemonSet", NODE_DS);
        JsonNode plugin = container(ds, "kcfs-node");
        assertThat(plugin.path("image").asText()).isEqualTo("registry.example/kcfs/node:1.2.3");
        assertThat(plugin.path("imagePullPolicy").asText()).isEqualTo("Always");
        assertThat(args(plugin))
                .containsExactly(
                        "--endpoint=unix:///csi/csi.sock",
                        "--node-id=$(NODE_NAME)",
                        "--store=/data/kcfs",
                        "--kubelet-dir=/var/lib/k0s/kubelet",
                        "--verity=REQUIRED",
                        "--metrics-port=9999",
                        "--build-concurrency=4",
                        "--cache-max-bytes=107374182400",
                        "--plain-http-registry=registry.local:5000");
        assertThat(env(plugin).get("JAVA_TOOL_OPTIONS").path("value").asText())
                .isEqualTo("-Dkcfs.log.level=DEBUG -Xmx700m");
        assertThat(mounts(plugin).get("/var/lib/k0s/kubelet").path("mountPropagation").asText())
                .isEqualTo("Bidirectional");
        assertThat(mounts(plugin)).containsKey("/data/kcfs").doesNotContainKey("/dev");
        assertThat(volume(ds, "plugin-dir").path("hostPath").path("path").asText())
                .isEqualTo("/var/lib/k0s/kubelet/plugins/csi.kcfs.dev");
        assertThat(volume(ds, "registration-dir").path("hostPath").path("path").asText())
                .isEqualTo("/var/lib/k0s/kubelet/plugins_registry");
        assertThat(volume(ds, "store").path("hostPath").path("path").asText())
                .isEqualTo("/data/kcfs");
        assertThat(args(container(ds, "node-driver-registrar")))
                .contains(
                        "--kubelet-registration-path=/var/lib/k0s/kubelet/plugins/csi.kcfs.dev/csi.sock");
        assertThat(container(ds, "node-driver-registrar").path("image").asText())
                .isEqualTo("mirror.example/registrar:v9.0.0");
        assertThat(container(ds, "liveness-probe").path("image").asText())
                .isEqualTo("mirror.example/livenessprobe:v8.0.0");
        assertThat(args(container(ds, "liveness-probe"))).contains("--http-endpoint=:9111");
        JsonNode podSpec = ds.path("spec").path("template").path("spec");
        assertThat(podSpec.path("nodeSelector").path("kcfs.dev/enabled").asText())
                .isEqualTo("true");
        assertThat(podSpec.path("imagePullSecrets").get(0).path("name").asText())
                .isEqualTo("regcred");

        JsonNode operator = container(chart.get("Deployment", OPERATOR), "operator");
        assertThat(operator.path("image").asText()).isEqualTo("ghcr.io/kcfs/kcfs-operator:9.9.9");
        assertThat(args(operator)).contains("--plain-http-registry=registry.local:5000");
        assertThat(env(operator).get("JAVA_TOOL_OPTIONS").path("value").asText())
                .isEqualTo("-Dkcfs.log.level=DEBUG");

        JsonNode monitor = chart.get("ServiceMonitor", "kcfs");
        assertThat(monitor.path("metadata").path("labels").path("release").asText())
                .isEqualTo("prom");
        JsonNode selector = monitor.path("spec").path("selector").path("matchLabels");
        // the ServiceMonitor selects exactly the two metrics services
        assertThat(chart.ofKind("Service"))
                .allSatisfy(
                        svc ->
                                selector.fields()
                                        .forEachRemaining(
                                                e ->
                                                        assertThat(
                                                                        svc.path("metadata")
                                                                                .path("labels")
                                                                                .path(e.getKey())
                                                                                .asText())
                                                                .isEqualTo(e.getValue().asText())));
        assertThat(
                        chart.get("Service", "kcfs-node-metrics")
                                .path("spec")
                                .path("ports")
                                .get(0)
                                .path("port")
                                .asInt())
                .isEqualTo(9999);
        assertThat(monitor.path("spec").path("endpoints").get(0).path("port").asText())
                .isEqualTo("metrics");

        JsonNode dashboard = chart.get("ConfigMap", "kcfs-dashboard");
        assertThat(dashboard.path("metadata").path("labels").path("grafana_dashboard").asText())
                .isEqualTo("1");
    }

    @Test
    void aKeyTwiceInOneMapIsCaught() {
        // kubectl and the API server reject duplicate keys, so the parser under these tests must
        // too
        assertThatThrownBy(() -> RenderedChart.parse("metadata:\n  labels:\n    a: x\n    a: y\n"))
                .hasMessageContaining("Duplicate field 'a'");
    }

    @Test
    void cacheLimitWithASuffix() {
        JsonNode plugin =
                container(
                        RenderedChart.render(Map.of("node.cacheMaxBytes", "200G"))
                                .get("DaemonSet", NODE_DS),
                        "kcfs-node");
        assertThat(args(plugin)).contains("--cache-max-bytes=200G");
    }

    @Test
    void operatorCanBeLeftOut() {
        RenderedChart chart = RenderedChart.render(Map.of("operator.enabled", "false"));
        assertThat(chart.ofKind("Deployment")).isEmpty();
        assertThat(chart.all())
                .noneMatch(o -> o.path("metadata").path("name").asText().startsWith(OPERATOR));
        assertThat(chart.find("DaemonSet", NODE_DS)).isPresent();
    }

    @Test
    void nodeVerityTakesEitherSpellingAndPassesTheNodeOne() {
        Map<String, String> expected =
                Map.of(
                        "REQUIRED",
                        "REQUIRED",
                        "Required",
                        "REQUIRED",
                        "IF_SUPPORTED",
                        "IF_SUPPORTED",
                        "IfSupported",
                        "IF_SUPPORTED",
                        "ifsupported",
                        "IF_SUPPORTED",
                        "OFF",
                        "OFF",
                        "off",
                        "OFF",
                        "Disabled",
                        "OFF");
        expected.forEach(
                (value, flag) ->
                        assertThat(
                                        args(
                                                container(
                                                        RenderedChart.render(
                                                                        Map.of(
                                                                                "node.verity",
                                                                                value))
                                                                .get("DaemonSet", NODE_DS),
                                                        "kcfs-node")))
                                .as("node.verity=%s", value)
                                .contains("--verity=" + flag));
    }

    @Test
    void badValuesFailWithTheValueNamed() {
        assertThatThrownBy(() -> RenderedChart.render(Map.of("node.verity", "SOMETIMES")))
                .hasMessageContaining(
                        "node.verity \"SOMETIMES\" is not one of OFF, IF_SUPPORTED, REQUIRED, Disabled,"
                                + " IfSupported, Required");
        assertThatThrownBy(() -> RenderedChart.render(Map.of("kubeletDir", "var/lib/kubelet")))
                .hasMessageContaining(
                        "kubeletDir \"var/lib/kubelet\" must be an absolute host path");
        assertThatThrownBy(() -> RenderedChart.render(Map.of("logLevel", "LOUD")))
                .hasMessageContaining("logLevel \"LOUD\" is not one of");
        assertThatThrownBy(() -> RenderedChart.render(Map.of("node.cacheMaxBytes", "200GB")))
                .hasMessageContaining("node.cacheMaxBytes \"200GB\" is not a byte count");
        assertThatThrownBy(() -> RenderedChart.render(Map.of("node.buildConcurrency", "0")))
                .hasMessageContaining("node.buildConcurrency 0 must be at least 1");
    }

    @Test
    void chartCrdsAreTheGeneratedOnes() throws IOException {
        Path generated = SharedAssets.repoRoot().resolve("crds");
        Path inChart = RenderedChart.chartDir().resolve("crds");
        Map<String, byte[]> expected = readAll(generated);
        Map<String, byte[]> actual = readAll(inChart);
        assertThat(expected).as("crds/ holds the generated CRDs").isNotEmpty();
        assertThat(actual.keySet())
                .as("CRD files in charts/kcfs/crds (copy them from crds/)")
                .isEqualTo(expected.keySet());
        expected.forEach(
                (name, bytes) ->
                        assertThat(actual.get(name))
                                .as(
                                        "charts/kcfs/crds/%s differs from crds/%s: copy it again",
                                        name, name)
                                .isEqualTo(bytes));
    }

    @Test
    void dashboardConfigMapCarriesTheDashboardFile() throws IOException {
        RenderedChart chart =
                RenderedChart.render(
                        Map.of("dashboard.enabled", "true", "dashboard.namespace", "monitoring"));
        JsonNode cm = chart.get("ConfigMap", "kcfs-dashboard");
        assertThat(cm.path("metadata").path("namespace").asText()).isEqualTo("monitoring");
        ObjectMapper json = new ObjectMapper();
        JsonNode shipped = json.readTree(cm.path("data").path("kcfs.json").asText());
        JsonNode file =
                json.readTree(RenderedChart.chartDir().resolve("dashboards/kcfs.json").toFile());
        assertThat(shipped).isEqualTo(file);
        assertThat(shipped.path("panels").size()).isGreaterThanOrEqualTo(6);
    }

    private static Map<String, byte[]> readAll(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile)
                    .collect(
                            Collectors.toMap(
                                    p -> p.getFileName().toString(),
                                    p -> {
                                        try {
                                            return Files.readAllBytes(p);
                                        } catch (IOException e) {
                                            throw new java.io.UncheckedIOException(e);
                                        }
                                    },
                                    (a, b) -> a,
                                    TreeMap::new));
        }
    }
}
