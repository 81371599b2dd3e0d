package dev.kcfs.csi;

import dev.kcfs.csi.v1.NodeGetCapabilitiesRequest;
import dev.kcfs.csi.v1.NodeGetCapabilitiesResponse;
import dev.kcfs.csi.v1.NodeGetInfoRequest;
import dev.kcfs.csi.v1.NodeGetInfoResponse;
import dev.kcfs.csi.v1.NodeGetVolumeStatsRequest;
import dev.kcfs.csi.v1.NodeGetVolumeStatsResponse;
import dev.kcfs.csi.v1.NodeGrpc;
import dev.kcfs.csi.v1.NodePublishVolumeRequest;
import dev.kcfs.csi.v1.NodePublishVolumeResponse;
import dev.kcfs.csi.v1.NodeServiceCapability;
import dev.kcfs.csi.v1.NodeUnpublishVolumeRequest;
import dev.kcfs.csi.v1.NodeUnpublishVolumeResponse;
import dev.kcfs.csi.v1.VolumeCondition;
import dev.kcfs.csi.v1.VolumeUsage;
import dev.kcfs.mount.MountException;
import dev.kcfs.mount.MountTable;
import dev.kcfs.publish.BuiltImages;
import dev.kcfs.publish.ExpectedDigests;
import dev.kcfs.publish.ImagePolicy;
import dev.kcfs.publish.OnDemandBuilds;
import dev.kcfs.publish.PolicyUnavailableException;
import dev.kcfs.publish.ResolvedImage;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CSI Node service: publishes ComposefsImages into pods. Validation and policy live here;
 * mounting and the idempotent state live in {@link PublishedVolumes}.
 */
public final class NodeService extends NodeGrpc.NodeImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(NodeService.class);

    /** Bound on waiting for locks when the caller sets no deadline. */
    private static final long DEFAULT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** Leave this much of kubelet's deadline to send the answer back. */
    private static final long DEADLINE_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    /** The build hook only starts or looks up a build; it should answer within this. */
    private static final long BUILD_REQUEST_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final String nodeId;
    private final Path kubeletDir;
    private final PublishedVolumes volumes;
    private final BuiltImages images;
    private final ImagePolicy policy;
    private final CsiMetrics metrics;
    private final ExecutorService buildRequests =
            Executors.newCachedThreadPool(
                    r -> {
                        Thread t = new Thread(r, "build-request");
                        t.setDaemon(true);
                        return t;
                    });

    public NodeService(
            String nodeId,
            Path kubeletDir,
            PublishedVolumes volumes,
            BuiltImages images,
            ImagePolicy policy,
            CsiMetrics metrics) {
        this.nodeId = nodeId;
        this.kubeletDir = kubeletDir.toAbsolutePath().normalize();
        this.volumes = volumes;
        this.images = images;
        this.policy = policy;
        this.metrics = metrics;
    }

    @Override
    public void nodePublishVolume(
            NodePublishVolumeRequest request, StreamObserver<NodePublishVolumeResponse> out) {
        long start = System.nanoTime();
        CsiException error = null;
        try {
            VolumeSpec spec = VolumeSpec.parse(request, kubeletDir);
            checkNamespace(spec);
            PublishedVolumes.Outcome outcome = volumes.publish(spec, this::resolve, timeoutNanos());
            metrics.published(outcome);
            LOG.info(
                    "published volume {} (image {}, {}) at {}: {}",
                    spec.volumeId(),
                    spec.imageName(),
                    spec.writable() ? "writable" : "read-only",
                    spec.target(),
                    outcome);
        } catch (Exception e) {
            error = toCsi("NodePublishVolume", request.getVolumeId(), e);
        }
        metrics.publishDuration(
                System.nanoTime() - start, error == null ? CsiMetrics.OK : error.code().name());
        if (error != null) {
            fail("NodePublishVolume", error, out);
        } else {
            out.onNext(NodePublishVolumeResponse.getDefaultInstance());
            out.onCompleted();
        }
    }

    @Override
    public void nodeUnpublishVolume(
            NodeUnpublishVolumeRequest request, StreamObserver<NodeUnpublishVolumeResponse> out) {
        call(
                "NodeUnpublishVolume",
                request.getVolumeId(),
                out,
                () -> {
                    String volumeId = VolumeSpec.requireVolumeId(request.getVolumeId());
                    Path target = VolumeSpec.checkTarget(request.getTargetPath(), kubeletDir);
                    volumes.unpublish(volumeId, target, timeoutNanos());
                    metrics.unpublished();
                    LOG.info("unpublished volume {} at {}", volumeId, target);
                    return NodeUnpublishVolumeResponse.getDefaultInstance();
                });
    }

    @Override
    public void nodeGetVolumeStats(
            NodeGetVolumeStatsRequest request, StreamObserver<NodeGetVolumeStatsResponse> out) {
        call(
                "NodeGetVolumeStats",
                request.getVolumeId(),
                out,
                () -> {
                    String volumeId = VolumeSpec.requireVolumeId(request.getVolumeId());
                    if (request.getVolumePath().isEmpty()) {
                        throw CsiException.invalid("volume_path is empty");
                    }
                    Path path = Path.of(request.getVolumePath()).normalize();
                    Optional<Publication> p =
                            volumes.at(path).filter(v -> v.volumeId().equals(volumeId));
                    if (p.isEmpty()) {
                        throw new CsiException(
                                Status.Code.NOT_FOUND,
                                "volume "
                                        + volumeId
                                        + " is not published at "
                                        + path
                                        + " on node "
                                        + nodeId);
                    }
                    NodeGetVolumeStatsResponse.Builder response =
                            NodeGetVolumeStatsResponse.newBuilder();
                    if (!MountTable.read().isMountPoint(path)) {
                        return response.setVolumeCondition(
                                        VolumeCondition.newBuilder()
                                                .setAbnormal(true)
                                                .setMessage(
                                                        "volume "
                                                                + volumeId
                                                                + " (image "
                                                                + p.get().imageName()
                                                                + ") is no longer mounted at "
                                                                + path))
                                .build();
                    }
                    Optional<String> damage = images.damage(p.get().digest());
                    if (damage.isPresent()) {
                        return response.setVolumeCondition(
                                        VolumeCondition.newBuilder()
                                                .setAbnormal(true)
                                                .setMessage(
                                                        "volume "
                                                                + volumeId
                                                                + " (image "
                                                                + p.get().imageName()
                                                                + ", "
                                                                + p.get()
                                                                        .digest()
                                                                        .hex()
                                                                        .substring(0, 12)
                                                                + "): "
                                                                + damage.get()))
                                .build();
                    }
                    FileStore fs = Files.getFileStore(path);
                    long total = fs.getTotalSpace();
                    long available = fs.getUsableSpace();
                    response.addUsage(
                            VolumeUsage.newBuilder()
                                    .setUnit(VolumeUsage.Unit.BYTES)
                                    .setTotal(total)
                                    .setAvailable(available)
                                    .setUsed(Math.max(0, total - fs.getUnallocatedSpace())));
                    return response.setVolumeCondition(
                                    VolumeCondition.newBuilder()
                                            .setAbnormal(false)
                                            .setMessage(
                                                    "image "
                                                            + p.get().imageName()
                                                            + " ("
                                                            + p.get()
                                                                    .digest()
                                                                    .hex()
                                                                    .substring(0, 12)
                                                            + ") mounted "
                                                            + (p.get().writable()
                                                                    ? "writable"
                                                                    : "read-only")))
                            .build();
                });
    }

    @Override
    public void nodeGetCapabilities(
            NodeGetCapabilitiesRequest request, StreamObserver<NodeGetCapabilitiesResponse> out) {
        call(
                "NodeGetCapabilities",
                "",
                out,
                () ->
                        NodeGetCapabilitiesResponse.newBuilder()
                                .addCapabilities(
                                        rpc(NodeServiceCapability.RPC.Type.GET_VOLUME_STATS))
                                .addCapabilities(
                                        rpc(NodeServiceCapability.RPC.Type.VOLUME_CONDITION))
                                .build());
    }

    @Override
    public void nodeGetInfo(NodeGetInfoRequest request, StreamObserver<NodeGetInfoResponse> out) {
        // no volume limit: a publish is a bind mount of a shared image mount
        call(
                "NodeGetInfo",
                "",
                out,
                () -> NodeGetInfoResponse.newBuilder().setNodeId(nodeId).build());
    }

    private static NodeServiceCapability rpc(NodeServiceCapability.RPC.Type type) {
        return NodeServiceCapability.newBuilder()
                .setRpc(NodeServiceCapability.RPC.newBuilder().setType(type))
                .build();
    }

    private void checkNamespace(VolumeSpec spec) {
        Set<String> allowed = policy.access().allowedNamespaces(spec.imageName());
        if (allowed.isEmpty()) {
            return;
        }
        if (spec.podNamespace().isEmpty()) {
            throw new CsiException(
                    Status.Code.PERMISSION_DENIED,
                    "ComposefsImage "
                            + spec.imageName()
                            + " may only be mounted in namespaces "
                            + sorted(allowed)
                            + ", but kubelet did not say the pod's"
                            + " namespace: the CSIDriver csi.kcfs.dev needs podInfoOnMount: true");
        }
        if (!allowed.contains(spec.podNamespace().get())) {
            throw new CsiException(
                    Status.Code.PERMISSION_DENIED,
                    "ComposefsImage "
                            + spec.imageName()
                            + " may not be mounted in namespace "
                            + spec.podNamespace().get()
                            + "; its allowedNamespaces are "
                            + sorted(allowed));
        }
    }

    private static String sorted(Set<String> s) {
        return s.stream().sorted().toList().toString();
    }

    /**
     * Finds the image on the node and checks it is the one {@code spec.expectedDigest} names (the
     * shared mount then pins that digest); if it is missing, kicks off an on-demand build and says so.
     */
    private ResolvedImage resolve(String name) {
        Optional<ResolvedImage> image;
        try {
            image = images.resolve(name);
        } catch (IOException e) {
            throw new CsiException(
                    Status.Code.INTERNAL,
                    "cannot look up image " + name + " in the node store: " + e.getMessage(),
                    e);
        }
        if (image.isPresent()) {
            policy.uses().used(name);
            Optional<String> wrong =
                    ExpectedDigests.mismatch(
                            name,
                            policy.expected().expectedDigest(name).orElse(null),
                            image.get().digest());
            if (wrong.isPresent()) {
                throw new CsiException(
                        Status.Code.FAILED_PRECONDITION,
                        wrong.get() + "; not mounted on node " + nodeId);
            }
            return image.get();
        }
        OnDemandBuilds.BuildState state = requestBuild(name);
        String prefix = "ComposefsImage " + name + " is not built on node " + nodeId + " yet: ";
        switch (state.kind()) {
            case STARTED:
                throw new CsiException(
                        Status.Code.UNAVAILABLE,
                        prefix
                                + "started building it; the mount is retried"
                                + " until it is ready ("
                                + state.message()
                                + ")");
            case BUILDING:
                throw new CsiException(
                        Status.Code.UNAVAILABLE,
                        prefix
                                + "it is being built; the mount is retried until"
                                + " it is ready ("
                                + state.message()
                                + ")");
            case FAILED:
                throw new CsiException(
                        Status.Code.UNAVAILABLE,
                        prefix
                                + "the last build failed: "
                                + state.message()
                                + "; the next retry builds it again");
            case UNKNOWN_IMAGE:
                throw new CsiException(
                        Status.Code.NOT_FOUND,
                        "no ComposefsImage named "
                                + name
                                + " exists; create it or fix volumeAttributes.image");
            case DISABLED:
            default:
                throw new CsiException(
                        Status.Code.NOT_FOUND,
                        prefix
                                + state.message()
                                + "; add this node to"
                                + " spec.nodeSelector of ComposefsImage "
                                + name
                                + " so the node agent prebuilds it");
        }
    }

    /**
     * Asks the build hook, but never waits longer than kubelet would: a hook that does not answer
     * in time is reported as a build in progress (kubelet retries and asks again).
     */
    private OnDemandBuilds.BuildState requestBuild(String name) {
        CompletableFuture<OnDemandBuilds.BuildState> answer =
                CompletableFuture.supplyAsync(() -> policy.builds().request(name), buildRequests);
        try {
            return answer.get(
                    Math.min(timeoutNanos(), BUILD_REQUEST_TIMEOUT_NANOS), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return new OnDemandBuilds.BuildState(
                    OnDemandBuilds.BuildState.Kind.BUILDING, "the node agent has not answered yet");
        } catch (ExecutionException e) {
            throw new CsiException(
                    Status.Code.UNAVAILABLE,
                    "cannot start building ComposefsImage "
                            + name
                            + " on node "
                            + nodeId
                            + ": "
                            + e.getCause().getMessage()
                            + "; the mount is retried",
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CsiException(
                    Status.Code.ABORTED, "interrupted while asking for a build of " + name);
        }
    }

    /** Time this call may spend waiting: kubelet's deadline minus a margin, at most 30 s. */
    private static long timeoutNanos() {
        Deadline deadline = Context.current().getDeadline();
        if (deadline == null) {
            return DEFAULT_TIMEOUT_NANOS;
        }
        long remaining = deadline.timeRemaining(TimeUnit.NANOSECONDS) - DEADLINE_MARGIN_NANOS;
        return Math.max(0, Math.min(remaining, DEFAULT_TIMEOUT_NANOS));
    }

    private <T> void call(String rpc, String volumeId, StreamObserver<T> out, Callable<T> body) {
        T response;
        try {
            response = body.call();
        } catch (Exception e) {
            fail(rpc, toCsi(rpc, volumeId, e), out);
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }

    private <T> void fail(String rpc, CsiException e, StreamObserver<T> out) {
        metrics.error(rpc, e.code());
        LOG.warn("{} failed with {}: {}", rpc, e.code(), e.getMessage());
        out.onError(e.toStatus());
    }

    static CsiException toCsi(String rpc, String volumeId, Exception e) {
        if (e instanceof CsiException csi) {
            return csi;
        }
        if (e instanceof PolicyUnavailableException p) {
            return new CsiException(Status.Code.UNAVAILABLE, p.getMessage(), p);
        }
        if (e instanceof MountException m && m.kind() != MountException.Kind.FAILED) {
            // BUSY: another operation holds the shared mounts; REFUSED: a rule, which the message
            // explains
            return new CsiException(
                    m.kind() == MountException.Kind.BUSY
                            ? Status.Code.ABORTED
                            : Status.Code.FAILED_PRECONDITION,
                    rpc
                            + " of volume "
                            + volumeId
                            + ": "
                            + m.getMessage()
                            + (m.kind() == MountException.Kind.BUSY ? "; kubelet will retry" : ""),
                    e);
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return new CsiException(
                    Status.Code.ABORTED,
                    rpc
                            + " of volume "
                            + volumeId
                            + " was interrupted (the plugin is stopping); kubelet will retry",
                    e);
        }
        LoggerFactory.getLogger(NodeService.class)
                .error("{} of volume {} failed", rpc, volumeId, e);
        return new CsiException(
                Status.Code.INTERNAL,
                rpc + " of volume " + volumeId + " failed on the node: " + e.getMessage(),
                e);
    }
}
