package dev.kcfs.csi;

import com.google.protobuf.BoolValue;
import dev.kcfs.csi.v1.GetPluginCapabilitiesRequest;
import dev.kcfs.csi.v1.GetPluginCapabilitiesResponse;
import dev.kcfs.csi.v1.GetPluginInfoRequest;
import dev.kcfs.csi.v1.GetPluginInfoResponse;
import dev.kcfs.csi.v1.IdentityGrpc;
import dev.kcfs.csi.v1.ProbeRequest;
import dev.kcfs.csi.v1.ProbeResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The CSI Identity service: who we are, and whether we are healthy. The plugin starts serving only
 * after restart recovery, so it is always ready; {@code health} says what is broken, if anything.
 */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {
    public static final String DRIVER_NAME = "csi.kcfs.dev";

    private final String version;
    private final Supplier<Optional<String>> health;

    /** {@code health} returns what is wrong, or empty when the plugin can serve. */
    public IdentityService(String version, Supplier<Optional<String>> health) {
        this.version = version;
        this.health = health;
    }

    @Override
    public void getPluginInfo(
            GetPluginInfoRequest request, StreamObserver<GetPluginInfoResponse> out) {
        out.onNext(
                GetPluginInfoResponse.newBuilder()
                        .setName(DRIVER_NAME)
                        .setVendorVersion(version)
                        .build());
        out.onCompleted();
    }

    @Override
    public void getPluginCapabilities(
            GetPluginCapabilitiesRequest request,
            StreamObserver<GetPluginCapabilitiesResponse> out) {
        // no CONTROLLER_SERVICE: volumes need no provisioning or attaching, only node publishing
        out.onNext(GetPluginCapabilitiesResponse.getDefaultInstance());
        out.onCompleted();
    }

    @Override
    public void probe(ProbeRequest request, StreamObserver<ProbeResponse> out) {
        Optional<String> problem = health.get();
        if (problem.isPresent()) {
            // the spec's answer for "plugin not healthy": the liveness probe restarts us
            out.onError(
                    Status.FAILED_PRECONDITION.withDescription(problem.get()).asRuntimeException());
            return;
        }
        out.onNext(ProbeResponse.newBuilder().setReady(BoolValue.of(true)).build());
        out.onCompleted();
    }
}
