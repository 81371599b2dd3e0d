package dev.kcfs.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** Sets conditions in one place, keeping lastTransitionTime when the status does not change. */
final class Conditions {
    static final String RESOLVED = "Resolved";
    static final String READY = "Ready";
    static final String DEGRADED = "Degraded";

    private Conditions() {}

    static Condition find(List<Condition> conditions, String type) {
        return conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    static boolean isTrue(List<Condition> conditions, String type) {
        Condition c = find(conditions, type);
        return c != null && "True".equals(c.getStatus());
    }

    /** @return true when status or reason changed: a state change worth an event */
    static boolean set(
            List<Condition> conditions,
            String type,
            boolean status,
            String reason,
            String message,
            long generation,
            Instant now) {
        String s = status ? "True" : "False";
        Condition old = find(conditions, type);
        boolean changed =
                old == null
                        || !s.equals(old.getStatus())
                        || !Objects.equals(reason, old.getReason());
        String since =
                old != null && s.equals(old.getStatus())
                        ? old.getLastTransitionTime()
                        : now.toString();
        Condition c =
                new ConditionBuilder()
                        .withType(type)
                        .withStatus(s)
                        .withReason(reason)
                        .withMessage(message)
                        .withObservedGeneration(generation)
                        .withLastTransitionTime(since)
                        .build();
        if (old == null) {
            conditions.add(c);
        } else {
            conditions.set(conditions.indexOf(old), c);
        }
        return changed;
    }
}
