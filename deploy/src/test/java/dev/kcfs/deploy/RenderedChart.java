package dev.kcfs.deploy;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import dev.kcfs.testing.SharedAssets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** The objects {@code helm template} renders from charts/kcfs with some values, parsed from YAML. */
final class RenderedChart {
    static final String RELEASE = "kcfs";
    static final String NAMESPACE = "kcfs-system";

    private final List<JsonNode> objects;

    private RenderedChart(List<JsonNode> objects) {
        this.objects = objects;
    }

    static Path chartDir() {
        return SharedAssets.repoRoot().resolve("charts").resolve("kcfs");
    }

    /** Renders with the chart's defaults overridden by {@code --set key=value} pairs. */
    static RenderedChart render(Map<String, Object> sets) {
        TemplateCommand template =
                new Helm(chartDir())
                        .template()
                        .withName(RELEASE)
                        .withNamespace(NAMESPACE)
                        .withKubeVersion("1.31.0");
        sets.forEach(template::set);
        return parse(template.call());
    }

    static RenderedChart render() {
        return render(Map.of());
    }

    static RenderedChart parse(String yaml) {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it =
                YAMLMapper.builder()
                        // a key twice in one map is rejected by kubectl and the API server: catch
                        // it here
                        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                        .build()
                        .readerFor(JsonNode.class)
                        .readValues(yaml)) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isEmpty()) {
                    docs.add(doc);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "helm template printed YAML that does not parse:\n" + yaml, e);
        }
        return new RenderedChart(docs);
    }

    List<JsonNode> all() {
        return objects;
    }

    List<JsonNode> ofKind(String kind) {
        return objects.stream()
                .filter(o -> kind.equals(o.path("kind").asText()))
                .collect(Collectors.toList());
    }

    Optional<JsonNode> find(String kind, String name) {
        return ofKind(kind).stream()
                .filter(o -> name.equals(o.path("metadata").path("name").asText()))
                .findFirst();
    }

    JsonNode get(String kind, String name) {
        return find(kind, name)
                .orElseThrow(
                        () ->
                                new AssertionError(
                                        "no "
                                                + kind
                                                + " "
                                                + name
                                                + " rendered; have: "
                                                + objects.stream()
                                                        .map(
                                                                o ->
                                                                        o.path("kind").asText()
                                                                                + "/"
                                                                                + o.path("metadata")
                                                                                        .path(
                                                                                                "name")
                                                                                        .asText())
                                                        .collect(Collectors.joining(", "))));
    }

    static JsonNode container(JsonNode workload, String name) {
        for (JsonNode c : workload.path("spec").path("template").path("spec").path("containers")) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError(
                "no container " + name + " in " + workload.path("metadata").path("name").asText());
    }

    static JsonNode volume(JsonNode workload, String name) {
        for (JsonNode v : workload.path("spec").path("template").path("spec").path("volumes")) {
            if (name.equals(v.path("name").asText())) {
                return v;
            }
        }
        throw new AssertionError(
                "no volume " + name + " in " + workload.path("metadata").path("name").asText());
    }

    /** mountPath -> the volumeMount, of one container. */
    static Map<String, JsonNode> mounts(JsonNode container) {
        Map<String, JsonNode> byPath = new LinkedHashMap<>();
        container.path("volumeMounts").forEach(m -> byPath.put(m.path("mountPath").asText(), m));
        return byPath;
    }

    static List<String> args(JsonNode container) {
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        return args;
    }

    static Map<String, JsonNode> env(JsonNode container) {
        Map<String, JsonNode> env = new LinkedHashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
        return env;
    }
}
