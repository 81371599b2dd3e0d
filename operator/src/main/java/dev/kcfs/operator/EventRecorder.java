package dev.kcfs.operator;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes core/v1 Events about ComposefsImages. Callers emit only on state changes, so the number of
 * events stays proportional to transitions, not to reconciles. The images are cluster-scoped, so the
 * events go to one configured namespace ("default" as kubectl expects for cluster-scoped objects).
 */
final class EventRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
    static final String COMPONENT = "kcfs-operator";

    private final KubernetesClient client;
    private final String namespace;
    private final Clock clock;
    private final OperatorMetrics metrics;

    EventRecorder(KubernetesClient client, String namespace, Clock clock, OperatorMetrics metrics) {
        this.client = client;
        this.namespace = namespace;
        this.clock = clock;
        this.metrics = metrics;
    }

    void normal(HasMetadata about, String reason, String message) {
        emit(about, "Normal", reason, message);
    }

    void warning(HasMetadata about, String reason, String message) {
        emit(about, "Warning", reason, message);
    }

    private void emit(HasMetadata about, String type, String reason, String message) {
        String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
        var event =
                new EventBuilder()
                        .withNewMetadata()
                        .withNamespace(namespace)
                        .withName(
                                about.getMetadata().getName()
                                        + "."
                                        + UUID.randomUUID().toString().substring(0, 8))
                        .endMetadata()
                        .withInvolvedObject(
                                new ObjectReferenceBuilder()
                                        .withApiVersion(about.getApiVersion())
                                        .withKind(about.getKind())
                                        .withName(about.getMetadata().getName())
                                        .withUid(about.getMetadata().getUid())
                                        .withResourceVersion(
                                                about.getMetadata().getResourceVersion())
                                        .build())
                        .withType(type)
                        .withReason(reason)
                        // Events cap messages at 1 KiB; keep the start, which names the problem.
                        .withMessage(
                                message.length() > 1024
                                        ? message.substring(0, 1021) + "..."
                                        : message)
                        .withFirstTimestamp(now)
                        .withLastTimestamp(now)
                        .withCount(1)
                        .withNewSource()
                        .withComponent(COMPONENT)
                        .endSource()
                        .withReportingComponent(COMPONENT)
                        .build();
        try {
            client.v1().events().inNamespace(namespace).resource(event).create();
            metrics.eventWritten(type);
        } catch (KubernetesClientException e) {
            // An event is best effort: losing one must not fail the reconcile that caused it.
            LOG.warn(
                    "could not record event {} {} for {}: {}",
                    type,
                    reason,
                    about.getMetadata().getName(),
                    e.getMessage());
        }
    }
}
