package dev.kcfs.kube;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes core/v1 Events about ComposefsImages, for the operator and the node agents. Callers emit
 * only on state changes (a condition flips, a build finishes), so the number of events stays
 * proportional to transitions, not to reconciles. The images are cluster-scoped, so the events go
 * to one namespace: "default", the only one the API server accepts for events about cluster-scoped
 * objects.
 */
public final class EventRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);

    /** The namespace of events about cluster-scoped objects. */
    public static final String NAMESPACE = "default";

    private final KubernetesClient client;
    private final String namespace;
    private final String component;
    private final String instance;
    private final Clock clock;
    private final Consumer<String> written;

    /**
     * @param component who writes, as {@code kubectl get events} shows it ("kcfs-operator", "kcfs-node")
     * @param instance which one of them (a node's name), or null
     * @param written told the type ("Normal", "Warning") of each event written, for metrics
     */
    public EventRecorder(
            KubernetesClient client,
            String namespace,
            String component,
            String instance,
            Clock clock,
            Consumer<String> written) {
        this.client = client;
        this.namespace = namespace;
        this.component = component;
        this.instance = instance;
        this.clock = clock;
        this.written = written;
    }

    public void normal(HasMetadata about, String reason, String message) {
        emit(about, "Normal", reason, message);
    }

    public void warning(HasMetadata about, String reason, String message) {
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
                        .withComponent(component)
                        .withHost(instance)
                        .endSource()
                        .withReportingComponent(component)
                        .withReportingInstance(instance)
                        .build();
        try {
            client.v1().events().inNamespace(namespace).resource(event).create();
            written.accept(type);
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
