package dev.kcfs.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kcfs.api.ComposefsImage;
import io.fabric8.kubernetes.api.model.FieldsV1;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Server-side apply removes a field the applier stops sending only when the applier owns it. Status
 * fields written by Update requests (an operator from before server-side apply, or a
 * {@code kubectl edit --subresource=status}) are owned by those Update managers, so an apply that
 * omits them would leave them behind: a digest nodes no longer agree on would stay in the status.
 * This moves such ownership to the operator's apply manager once, as client-go's csaupgrade does.
 */
final class StatusOwnership {
    private final String manager;
    private final ObjectMapper json;
    private final Clock clock;

    StatusOwnership(String manager, ObjectMapper json, Clock clock) {
        this.manager = manager;
        this.json = json;
        this.clock = clock;
    }

    /** True when some status fields are owned by an Update manager. */
    boolean needsAdoption(ComposefsImage image) {
        List<ManagedFieldsEntry> entries = image.getMetadata().getManagedFields();
        return entries != null && entries.stream().anyMatch(StatusOwnership::statusUpdate);
    }

    private static boolean statusUpdate(ManagedFieldsEntry e) {
        return "status".equals(e.getSubresource()) && "Update".equals(e.getOperation());
    }

    /**
     * Replaces the Update managers' status entries by one Apply entry of this operator holding all
     * their fields; guarded by the resourceVersion. Returns the patched image's resourceVersion.
     */
    String adopt(KubernetesClient client, ComposefsImage image) {
        List<ManagedFieldsEntry> entries = image.getMetadata().getManagedFields();
        ObjectNode fields = json.createObjectNode();
        ManagedFieldsEntry mine = null;
        List<ManagedFieldsEntry> kept = new ArrayList<>();
        for (ManagedFieldsEntry e : entries) {
            if (statusUpdate(e)) {
                merge(fields, fields(e));
            } else if (manager.equals(e.getManager())
                    && "Apply".equals(e.getOperation())
                    && "status".equals(e.getSubresource())) {
                mine = e;
            } else {
                kept.add(e);
            }
        }
        if (mine != null) {
            merge(fields, fields(mine));
        }
        FieldsV1 merged = new FieldsV1();
        fields.properties()
                .forEach(
                        f ->
                                merged.setAdditionalProperty(
                                        f.getKey(), json.convertValue(f.getValue(), Object.class)));
        kept.add(
                new ManagedFieldsEntryBuilder()
                        .withManager(manager)
                        .withOperation("Apply")
                        .withSubresource("status")
                        .withApiVersion(image.getApiVersion())
                        .withFieldsType("FieldsV1")
                        .withFieldsV1(merged)
                        .withTime(clock.instant().truncatedTo(ChronoUnit.SECONDS).toString())
                        .build());

        ArrayNode patch = json.createArrayNode();
        patch.addObject()
                .put("op", "test")
                .put("path", "/metadata/resourceVersion")
                .put("value", image.getMetadata().getResourceVersion());
        patch.addObject()
                .put("op", "replace")
                .put("path", "/metadata/managedFields")
                .set("value", json.valueToTree(kept));
        ComposefsImage patched =
                client.resources(ComposefsImage.class)
                        .withName(image.getMetadata().getName())
                        .patch(PatchContext.of(PatchType.JSON), patch.toString());
        return patched.getMetadata().getResourceVersion();
    }

    private ObjectNode fields(ManagedFieldsEntry e) {
        Map<String, Object> props =
                e.getFieldsV1() == null ? Map.of() : e.getFieldsV1().getAdditionalProperties();
        return json.valueToTree(props);
    }

    /** Set union of two fieldsV1 trees. */
    private static void merge(ObjectNode into, JsonNode from) {
        for (Map.Entry<String, JsonNode> f : from.properties()) {
            JsonNode existing = into.get(f.getKey());
            if (existing instanceof ObjectNode && f.getValue().isObject()) {
                merge((ObjectNode) existing, f.getValue());
            } else if (existing == null) {
                into.set(f.getKey(), f.getValue().deepCopy());
            }
        }
    }
}
