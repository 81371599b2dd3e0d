package dev.kcfs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every value of the chart has a comment in values.yaml and a row in the chart README. */
class ValuesDocumentedTest {
    /** Maps documented as one value (their keys are free-form Kubernetes fields or labels). */
    private static final Set<String> OPAQUE =
            Set.of(
                    "resources",
                    "updateStrategy",
                    "labels",
                    "nodeSelector",
                    "affinity",
                    "podAnnotations");

    private static final Pattern KEY_LINE = Pattern.compile("^( *)([A-Za-z0-9_]+):.*$");
    private static final Pattern README_ROW =
            Pattern.compile("^\\| `([A-Za-z0-9_.]+)` \\|", Pattern.MULTILINE);

    @Test
    void everyValueIsDocumented() throws IOException {
        String valuesText = Files.readString(RenderedChart.chartDir().resolve("values.yaml"));
        Set<String> leaves = new TreeSet<>();
        collect("", new YAMLMapper().readTree(valuesText), leaves);
        assertThat(leaves)
                .contains("kubeletDir", "node.cacheMaxBytes", "sidecars.livenessProbe.image.tag");

        // README rows
        Set<String> rows = new TreeSet<>();
        Matcher m =
                README_ROW.matcher(Files.readString(RenderedChart.chartDir().resolve("README.md")));
        while (m.find()) {
            rows.add(m.group(1));
        }
        assertThat(rows).as("values in the README table").isEqualTo(leaves);

        // a comment right above each value in values.yaml
        List<String> undocumented = new ArrayList<>();
        Deque<Map.Entry<Integer, String>> stack = new ArrayDeque<>();
        String[] lines = valuesText.split("\n");
        for (int i = 0; i < lines.length; i++) {
            Matcher k = KEY_LINE.matcher(lines[i]);
            if (!k.matches()) {
                continue;
            }
            int indent = k.group(1).length();
            while (!stack.isEmpty() && stack.peek().getKey() >= indent) {
                stack.pop();
            }
            String path = (stack.isEmpty() ? "" : stack.peek().getValue() + ".") + k.group(2);
            stack.push(Map.entry(indent, path));
            if (leaves.contains(path) && (i == 0 || !lines[i - 1].trim().startsWith("#"))) {
                undocumented.add(path);
            }
        }
        assertThat(undocumented)
                .as("values without a comment line above them in values.yaml")
                .isEmpty();
    }

    private static void collect(String prefix, JsonNode node, Set<String> leaves) {
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            String path = prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey();
            JsonNode v = f.getValue();
            if (v.isObject() && !v.isEmpty() && !OPAQUE.contains(f.getKey())) {
                collect(path, v, leaves);
            } else {
                leaves.add(path);
            }
        }
    }
}
