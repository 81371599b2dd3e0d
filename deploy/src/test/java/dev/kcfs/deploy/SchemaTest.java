package dev.kcfs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every rendered object maps onto the Kubernetes API types (fabric8's model, generated from the
 * Kubernetes OpenAPI): a misspelt or misplaced field lands in a model's additionalProperties, and
 * the API server would drop or reject it.
 */
class SchemaTest {
    private final KubernetesSerialization serialization = new KubernetesSerialization();

    @Test
    void defaultsUseOnlyKnownFields() throws Exception {
        assertKnownFields(RenderedChart.render());
    }

    @Test
    void everythingEnabledUsesOnlyKnownFields() throws Exception {
        assertKnownFields(
                RenderedChart.render(
                        Map.of(
                                "serviceMonitor.enabled",
                                "true",
                                "dashboard.enabled",
                                "true",
                                "pullSecrets.namespaces[0]",
                                "team-a",
                                "node.cacheMaxBytes",
                                "1000",
                                "imagePullSecrets[0]",
                                "regcred",
                                "plainHttpRegistries[0]",
                                "registry.local:5000",
                                "node.podAnnotations.a",
                                "b")));
    }

    private void assertKnownFields(RenderedChart chart) throws Exception {
        int typed = 0;
        for (JsonNode object : chart.all()) {
            KubernetesResource resource = serialization.unmarshal(serialization.asJson(object));
            String name =
                    object.path("kind").asText()
                            + "/"
                            + object.path("metadata").path("name").asText();
            if (resource instanceof GenericKubernetesResource) {
                // no model for it here (the ServiceMonitor is a Prometheus Operator CRD)
                assertThat(object.path("kind").asText()).as(name).isEqualTo("ServiceMonitor");
                continue;
            }
            typed++;
            List<String> unknown = new ArrayList<>();
            walk(resource, name, unknown);
            assertThat(unknown)
                    .as("fields the Kubernetes API does not know, in %s", name)
                    .isEmpty();
        }
        assertThat(typed).isGreaterThanOrEqualTo(15);
    }

    private static void walk(Object value, String path, List<String> unknown) throws Exception {
        if (value == null) {
            return;
        }
        if (value instanceof Collection<?>) {
            int i = 0;
            for (Object item : (Collection<?>) value) {
                walk(item, path + "[" + i++ + "]", unknown);
            }
            return;
        }
        if (value instanceof Map<?, ?>) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                walk(e.getValue(), path + "." + e.getKey(), unknown);
            }
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : value.getClass().getMethods()) {
            if (m.getParameterCount() != 0
                    || Modifier.isStatic(m.getModifiers())
                    || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object child;
            try {
                child = m.invoke(value);
            } catch (InvocationTargetException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (child instanceof Map<?, ?> && !((Map<?, ?>) child).isEmpty()) {
                    unknown.add(path + " " + ((Map<?, ?>) child).keySet());
                }
                continue;
            }
            walk(child, path + "." + m.getName().substring(3), unknown);
        }
    }
}
