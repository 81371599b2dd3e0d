package dev.kcfs.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsImageSpec;
import dev.kcfs.api.ComposefsImageStatus;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.NodeCounts;
import dev.kcfs.api.NodeImage;
import dev.kcfs.kube.EventRecorder;
import dev.kcfs.kube.LabelSelectors;
import dev.kcfs.kube.PullSecrets;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import dev.kcfs.operator.OperatorMetrics.ImageHealth;
import dev.kcfs.operator.registry.ManifestResolver;
import dev.kcfs.operator.registry.RegistryManifestResolver;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Reconciles a ComposefsImage: checks the spec, pins the tag to a manifest digest, and folds the
 * ComposefsNode reports of the nodes its selector picks into counts and conditions. Status is derived
 * from what is observed on every reconcile and written only when it changes; events are written only
 * on condition changes, so API writes grow with state changes, not with reconciles.
 */
@ControllerConfiguration(
        name = ComposefsImageReconciler.NAME,
        // A safety net for changes no watch reports (a node dropping an image from a report that
        // still
        // lists others is mapped, but a missed event would otherwise wait for the next change).
        maxReconciliationInterval =
                @MaxReconciliationInterval(interval = 10, timeUnit = TimeUnit.MINUTES))
public final class ComposefsImageReconciler
        implements Reconciler<ComposefsImage>, Cleaner<ComposefsImage> {
    public static final String NAME = "composefsimage";

    /**
     * @param releaseTimeout how long a deleted image waits for nodes to drop it before the finalizer goes anyway
     * @param releasePoll how often a deleted image re-checks the node reports while it waits
     * @param resolveRetry when to retry pinning after a registry failure
     * @param secretRetry when to retry after a missing or bad pull secret (secrets are not watched)
     * @param eventNamespace where events about the cluster-scoped images are written
     * @param countsInterval least time between two status writes of one image that change only node
     *     counts; condition, digest and pin changes are written at once
     */
    public record Settings(
            Duration releaseTimeout,
            Duration releasePoll,
            Duration resolveRetry,
            Duration secretRetry,
            String eventNamespace,
            Duration countsInterval) {
        public static Settings defaults() {
            return new Settings(
                    Duration.ofMinutes(10),
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(30),
                    Duration.ofSeconds(60),
                    "default",
                    Duration.ofSeconds(5));
        }
    }

    private final ManifestResolver resolver;
    private final Settings settings;
    private final OperatorMetrics metrics;
    private final Clock clock;
    private final ObjectMapper json;

    /** uids of deleted images whose "waiting for nodes" event was written, so it is written once. */
    private final Set<String> announcedReleases = ConcurrentHashMap.newKeySet();

    /**
     * uid/condition type -> the status/reason last announced by an event. The informer cache can hand a
     * reconcile a status older than the one this operator just wrote (seen in the scale benchmark);
     * without this, that stale copy would announce the same transition twice.
     */
    private final Map<String, String> announced = new ConcurrentHashMap<>();

    /** uid -> when its status was last written, to pace count-only writes. */
    private final Map<String, Instant> lastWrite = new ConcurrentHashMap<>();

    private volatile InformerEventSource<ComposefsNode, ComposefsImage> reports;
    private volatile InformerEventSource<Node, ComposefsImage> nodes;
    private volatile PullSecrets pullSecrets;
    private volatile EventRecorder events;

    public ComposefsImageReconciler(
            ManifestResolver resolver,
            Settings settings,
            OperatorMetrics metrics,
            Clock clock,
            ObjectMapper json) {
        this.resolver = resolver;
        this.settings = settings;
        this.metrics = metrics;
        this.clock = clock;
        this.json = json;
    }

    @Override
    public List<EventSource<?, ComposefsImage>> prepareEventSources(
            EventSourceContext<ComposefsImage> context) {
        pullSecrets = new PullSecrets(context.getClient(), "the operator");
        events =
                new EventRecorder(
                        context.getClient(),
                        settings.eventNamespace(),
                        "kcfs-operator",
                        null,
                        clock,
                        metrics::eventWritten);
        IndexerResourceCache<ComposefsImage> images = context.getPrimaryCache();

        // Node reports map to the images they list. A report listing none (an agent that just
        // started)
        // maps to every image, since it may change every image's desired count. The empty
        // primary-to-secondary mapper stops JOSDK from indexing nodes x images; reconcile reads the
        // caches.
        var reportConfig =
                InformerEventSourceConfiguration.from(ComposefsNode.class, ComposefsImage.class)
                        .withName("composefsnodes")
                        .withSecondaryToPrimaryMapper(
                                cn -> {
                                    List<NodeImage> listed =
                                            cn.getStatus() == null
                                                    ? List.of()
                                                    : cn.getStatus().getImages();
                                    if (listed == null || listed.isEmpty()) {
                                        return allImages(images);
                                    }
                                    return listed.stream()
                                            .map(i -> new ResourceID(i.getName()))
                                            .collect(Collectors.toSet());
                                })
                        .withPrimaryToSecondaryMapper(p -> Set.of())
                        // Store stats, mounts and lastUsed change often and do not affect any image
                        // status.
                        .withOnUpdateFilter(
                                (now, before) -> !reportView(now).equals(reportView(before)))
                        // The store stats are not needed here: do not keep them for thousands of
                        // nodes.
                        .withItemStore(
                                new TransformingItemStore<>(
                                        cn -> {
                                            if (cn.getStatus() != null) {
                                                cn.getStatus().setStore(null);
                                            }
                                            return cn;
                                        }))
                        .build();
        // Node labels decide which nodes are desired; nothing else about a Node matters here, and
        // Nodes
        // change often (heartbeats, conditions).
        var nodeConfig =
                InformerEventSourceConfiguration.from(Node.class, ComposefsImage.class)
                        .withName("nodes")
                        .withSecondaryToPrimaryMapper(n -> allImages(images))
                        .withPrimaryToSecondaryMapper(p -> Set.of())
                        .withOnUpdateFilter(
                                (now, before) ->
                                        !Objects.equals(
                                                now.getMetadata().getLabels(),
                                                before.getMetadata().getLabels()))
                        // Only names and labels are read: a real Node's status (its container image
                        // list, conditions)
                        // is 5-50 KB, which at 5,000 nodes would dominate the operator's heap.
                        .withItemStore(
                                new TransformingItemStore<Node>(
                                        n ->
                                                new NodeBuilder()
                                                        .withNewMetadata()
                                                        .withName(n.getMetadata().getName())
                                                        .withUid(n.getMetadata().getUid())
                                                        .withResourceVersion(
                                                                n.getMetadata()
                                                                        .getResourceVersion())
                                                        .withLabels(n.getMetadata().getLabels())
                                                        .endMetadata()
                                                        .build()))
                        .build();
        reports = new InformerEventSource<>(reportConfig, context);
        nodes = new InformerEventSource<>(nodeConfig, context);
        return List.of(reports, nodes);
    }

    private static Set<ResourceID> allImages(IndexerResourceCache<ComposefsImage> images) {
        return images.list().map(ResourceID::fromResource).collect(Collectors.toSet());
    }

    /** The parts of a node report that image statuses are computed from. */
    private static List<List<Object>> reportView(ComposefsNode cn) {
        if (cn.getStatus() == null || cn.getStatus().getImages() == null) {
            return List.of();
        }
        return cn.getStatus().getImages().stream()
                .map(
                        i ->
                                List.<Object>of(
                                        String.valueOf(i.getName()),
                                        String.valueOf(i.getState()),
                                        String.valueOf(i.getDigest()),
                                        String.valueOf(i.getMessage()),
                                        String.valueOf(i.getFiles()),
                                        String.valueOf(i.getObjects()),
                                        String.valueOf(i.getBytes())))
                .collect(Collectors.toList());
    }

    @Override
    public UpdateControl<ComposefsImage> reconcile(
            ComposefsImage image, Context<ComposefsImage> context) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        long generation =
                image.getMetadata().getGeneration() == null
                        ? 0
                        : image.getMetadata().getGeneration();
        String name = image.getMetadata().getName();
        JsonNode before = json.valueToTree(image.getStatus());
        ComposefsImageStatus status =
                image.getStatus() == null ? new ComposefsImageStatus() : image.getStatus();
        image.setStatus(status);
        if (status.getConditions() == null) {
            status.setConditions(new ArrayList<>());
        }
        List<Condition> conditions = status.getConditions();
        status.setObservedGeneration(generation);
        ComposefsImageSpec spec = image.getSpec();

        List<String> problems = SpecCheck.problems(spec);
        if (!problems.isEmpty()) {
            String message = String.join("; ", problems);
            if (setAndAnnounce(
                    image,
                    conditions,
                    Conditions.RESOLVED,
                    false,
                    "InvalidSpec",
                    message,
                    generation,
                    now)) {
                events.warning(image, "InvalidSpec", message);
            }
            setReady(image, false, "InvalidSpec", "fix the spec: " + message, generation, now);
            metrics.imageState(name, ImageHealth.Invalid, 0, 0, 0);
            metrics.reconciled("invalid");
            // Nothing to retry: the next spec change triggers a reconcile.
            return write(image, before, null, context);
        }

        Duration retry = null;
        Condition resolved = Conditions.find(conditions, Conditions.RESOLVED);
        boolean pinnedForThisGeneration =
                status.getResolvedImage() != null
                        && resolved != null
                        && "True".equals(resolved.getStatus())
                        && Objects.equals(resolved.getObservedGeneration(), generation);
        if (!pinnedForThisGeneration) {
            retry = pin(image, spec, status, generation, now);
        }

        fold(image, spec, status, generation, now);
        metrics.reconciled(retry == null ? "ok" : "retry");
        return write(image, before, retry, context);
    }

    /** Pins spec.source.image; returns when to retry, or null when done or retrying cannot help. */
    private Duration pin(
            ComposefsImage image,
            ComposefsImageSpec spec,
            ComposefsImageStatus status,
            long generation,
            Instant now) {
        List<Condition> conditions = status.getConditions();
        String source = spec.getSource().getImage();
        long t0 = System.nanoTime();
        try {
            DockerConfig credentials =
                    pullSecrets.load(
                            image.getMetadata().getName(), spec.getSource().getPullSecrets());
            String pinned = resolver.pin(source, credentials);
            metrics.resolved("ok", Duration.ofNanos(System.nanoTime() - t0));
            status.setResolvedImage(pinned);
            if (setAndAnnounce(
                    image,
                    conditions,
                    Conditions.RESOLVED,
                    true,
                    "Pinned",
                    "pinned " + source + " to " + pinned,
                    generation,
                    now)) {
                events.normal(image, "Resolved", "pinned " + source + " to " + pinned);
            }
            return null;
        } catch (PullSecrets.PullSecretException e) {
            metrics.resolved("failed", Duration.ofNanos(System.nanoTime() - t0));
            if (setAndAnnounce(
                    image,
                    conditions,
                    Conditions.RESOLVED,
                    false,
                    e.reason(),
                    e.getMessage(),
                    generation,
                    now)) {
                events.warning(image, e.reason(), e.getMessage());
            }
            return settings.secretRetry();
        } catch (OciException e) {
            metrics.resolved("failed", Duration.ofNanos(System.nanoTime() - t0));
            String reason = RegistryManifestResolver.reason(e.kind());
            if (setAndAnnounce(
                    image,
                    conditions,
                    Conditions.RESOLVED,
                    false,
                    reason,
                    e.getMessage(),
                    generation,
                    now)) {
                events.warning(image, reason, e.getMessage());
            }
            return RegistryManifestResolver.retryable(e.kind()) ? settings.resolveRetry() : null;
        }
    }

    /** Derives counts, digest, Degraded and Ready from the node reports in the informer caches. */
    private void fold(
            ComposefsImage image,
            ComposefsImageSpec spec,
            ComposefsImageStatus status,
            long generation,
            Instant now) {
        String name = image.getMetadata().getName();
        List<NodeReports.Report> observed = new ArrayList<>();
        reports.list(cn -> true)
                .forEach(
                        cn -> {
                            Optional<Node> node =
                                    nodes.get(new ResourceID(cn.getMetadata().getName()));
                            if (node.isEmpty()) {
                                return; // a report left behind by a node that is gone: neither
                                // desired nor trusted
                            }
                            boolean desired =
                                    LabelSelectors.matches(
                                            spec.getNodeSelector(),
                                            node.get().getMetadata().getLabels());
                            NodeImage report = find(cn, name);
                            if (desired || report != null) {
                                observed.add(
                                        new NodeReports.Report(
                                                cn.getMetadata().getName(), desired, report));
                            }
                        });
        NodeReports.Fold f = NodeReports.fold(observed, spec.getExpectedDigest());
        status.setNodes(new NodeCounts(f.desired(), f.ready(), f.failed()));
        status.setReady(f.ready() + "/" + f.desired());
        status.setDigest(f.digest());
        status.setShortDigest(
                f.digest() == null
                        ? null
                        : f.digest().substring(0, Math.min(12, f.digest().length())));
        status.setFiles(f.files());
        status.setObjects(f.objects());
        status.setBytes(f.bytes());

        List<Condition> conditions = status.getConditions();
        boolean wasDegraded = Conditions.isTrue(conditions, Conditions.DEGRADED);
        if (f.degradedReason() != null) {
            if (setAndAnnounce(
                    image,
                    conditions,
                    Conditions.DEGRADED,
                    true,
                    f.degradedReason(),
                    f.degradedMessage(),
                    generation,
                    now)) {
                events.warning(image, f.degradedReason(), f.degradedMessage());
            }
        } else {
            Conditions.set(
                    conditions,
                    Conditions.DEGRADED,
                    false,
                    "AsExpected",
                    "no node failed and all nodes that built the image agree on its digest",
                    generation,
                    now);
            // recorded even when it was not degraded, so a later degradation is announced again
            boolean first = firstAnnouncement(image, Conditions.DEGRADED, "False");
            if (wasDegraded && first) {
                events.normal(
                        image,
                        "Recovered",
                        "no node failed and all nodes that built the image agree on its digest");
            }
        }

        ImageHealth health;
        if (status.getResolvedImage() == null) {
            Condition r = Conditions.find(conditions, Conditions.RESOLVED);
            setReady(
                    image,
                    false,
                    "Unresolved",
                    "waiting for spec.source.image to be pinned"
                            + (r == null ? "" : ": " + r.getMessage()),
                    generation,
                    now);
            health = ImageHealth.Unresolved;
        } else if (f.degradedReason() != null) {
            setReady(image, false, "Degraded", f.degradedMessage(), generation, now);
            health = ImageHealth.Degraded;
        } else if (f.desired() == 0) {
            setReady(
                    image,
                    false,
                    "NoNodesSelected",
                    "no node with a kcfs agent matches spec.nodeSelector",
                    generation,
                    now);
            health = ImageHealth.Progressing;
        } else if (f.ready() < f.desired()) {
            setReady(
                    image,
                    false,
                    "Building",
                    f.ready() + " of " + f.desired() + " selected nodes are ready",
                    generation,
                    now);
            health = ImageHealth.Progressing;
        } else {
            setReady(
                    image,
                    true,
                    "AllNodesReady",
                    "built on all " + f.desired() + " selected nodes",
                    generation,
                    now);
            health = ImageHealth.Ready;
        }
        metrics.imageState(name, health, f.desired(), f.ready(), f.failed());
    }

    private void setReady(
            ComposefsImage image,
            boolean ready,
            String reason,
            String message,
            long generation,
            Instant now) {
        List<Condition> conditions = image.getStatus().getConditions();
        boolean wasReady = Conditions.isTrue(conditions, Conditions.READY);
        Conditions.set(conditions, Conditions.READY, ready, reason, message, generation, now);
        if (ready && !wasReady && firstAnnouncement(image, Conditions.READY, "True")) {
            events.normal(image, "Ready", message);
        } else if (!ready && wasReady && firstAnnouncement(image, Conditions.READY, "False")) {
            events.warning(image, "NotReady", message);
        }
    }

    /** Records the transition and says whether it differs from the one last announced for this image. */
    /**
     * Sets a condition and says whether that is news worth an event: the condition changed, and this
     * transition was not the last one announced for the image. Both are recorded either way.
     */
    private boolean setAndAnnounce(
            ComposefsImage image,
            List<Condition> conditions,
            String type,
            boolean value,
            String reason,
            String message,
            long generation,
            Instant now) {
        boolean changed = Conditions.set(conditions, type, value, reason, message, generation, now);
        boolean first = firstAnnouncement(image, type, (value ? "True/" : "False/") + reason);
        return changed && first;
    }

    private boolean firstAnnouncement(ComposefsImage image, String type, String transition) {
        String key = image.getMetadata().getUid() + "/" + type;
        return !transition.equals(announced.put(key, transition));
    }

    private static NodeImage find(ComposefsNode cn, String imageName) {
        if (cn.getStatus() == null || cn.getStatus().getImages() == null) {
            return null;
        }
        for (NodeImage i : cn.getStatus().getImages()) {
            if (imageName.equals(i.getName())) {
                return i;
            }
        }
        return null;
    }

    /**
     * Writes the status when it changed. While a rollout only moves node counts (each node report
     * would otherwise cost one write per image), writes are paced to one per countsInterval; the
     * rescheduled reconcile then writes the latest counts. Everything else is written at once.
     */
    private UpdateControl<ComposefsImage> write(
            ComposefsImage image,
            JsonNode before,
            Duration retry,
            Context<ComposefsImage> context) {
        JsonNode after = json.valueToTree(image.getStatus());
        if (after.equals(before)) {
            UpdateControl<ComposefsImage> none = UpdateControl.noUpdate();
            return retry == null ? none : none.rescheduleAfter(retry);
        }
        String uid = String.valueOf(image.getMetadata().getUid());
        Instant now = clock.instant();
        Instant last = lastWrite.get(uid);
        if (last != null && countsOnly(before, after)) {
            Duration wait = Duration.between(now, last.plus(settings.countsInterval()));
            if (!wait.isNegative() && !wait.isZero()) {
                UpdateControl<ComposefsImage> later = UpdateControl.noUpdate();
                return later.rescheduleAfter(
                        retry != null && retry.compareTo(wait) < 0 ? retry : wait);
            }
        }
        var config = context.getControllerConfiguration();
        if (config.getConfigurationService().useSSAToPatchPrimaryResource()) {
            StatusOwnership ownership = new StatusOwnership(config.fieldManager(), json, clock);
            if (ownership.needsAdoption(image)) {
                // the apply below carries this resourceVersion: the adopted one, not a conflict
                image.getMetadata().setResourceVersion(ownership.adopt(context.getClient(), image));
            }
        }
        lastWrite.put(uid, now);
        metrics.statusWritten();
        UpdateControl<ComposefsImage> control = UpdateControl.patchStatus(image);
        return retry == null ? control : control.rescheduleAfter(retry);
    }

    /** True when two statuses differ only in node counts (and the messages that quote them). */
    private static boolean countsOnly(JsonNode before, JsonNode after) {
        return before != null
                && before.isObject()
                && significant(before).equals(significant(after));
    }

    private static JsonNode significant(JsonNode status) {
        ObjectNode copy = status.deepCopy();
        copy.remove(List.of("nodes", "ready"));
        JsonNode conditions = copy.get("conditions");
        if (conditions != null) {
            conditions.forEach(
                    c -> ((ObjectNode) c).remove(List.of("message", "lastTransitionTime")));
        }
        return copy;
    }

    /**
     * Holds the finalizer until no live node lists the image any more, so agents drop it (and unmount
     * nothing in use) before the object goes; after releaseTimeout a dead or stuck node stops blocking.
     */
    @Override
    public DeleteControl cleanup(ComposefsImage image, Context<ComposefsImage> context) {
        String name = image.getMetadata().getName();
        String uid = image.getMetadata().getUid();
        List<String> holders =
                reports.list(
                                cn ->
                                        find(cn, name) != null
                                                && nodes.get(
                                                                new ResourceID(
                                                                        cn.getMetadata().getName()))
                                                        .isPresent())
                        .map(cn -> cn.getMetadata().getName())
                        .sorted()
                        .collect(Collectors.toList());
        if (holders.isEmpty()) {
            announcedReleases.remove(uid);
            lastWrite.remove(uid);
            announced.keySet().removeIf(k -> k.startsWith(uid + "/"));
            metrics.imageGone(name);
            return DeleteControl.defaultDelete();
        }
        Instant now = clock.instant();
        String deletedAt = image.getMetadata().getDeletionTimestamp();
        Instant deadline =
                (deletedAt == null ? now : Instant.parse(deletedAt))
                        .plus(settings.releaseTimeout());
        String who =
                holders.size()
                        + " node(s) ("
                        + String.join(", ", holders.subList(0, Math.min(5, holders.size())))
                        + (holders.size() > 5 ? ", …" : "")
                        + ")";
        if (!now.isBefore(deadline)) {
            events.warning(
                    image,
                    "ReleaseTimedOut",
                    who
                            + " still hold the image "
                            + settings.releaseTimeout()
                            + " after deletion; removing the finalizer anyway, their agents drop it when they see it gone");
            announcedReleases.remove(uid);
            lastWrite.remove(uid);
            announced.keySet().removeIf(k -> k.startsWith(uid + "/"));
            metrics.imageGone(name);
            return DeleteControl.defaultDelete();
        }
        if (announcedReleases.add(uid)) {
            events.normal(
                    image,
                    "WaitingForNodes",
                    "waiting up to "
                            + settings.releaseTimeout()
                            + " for "
                            + who
                            + " to release the image");
        }
        Duration left = Duration.between(now, deadline);
        Duration next = left.compareTo(settings.releasePoll()) < 0 ? left : settings.releasePoll();
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(next.toMillis() + 1);
    }
}
