package dev.kcfs.csi;

import com.google.protobuf.BoolValue;
import dev.kcfs.csi.v1.GetPluginCapabilitiesRequest;
import dev.kcfs.csi.v1.GetPluginCapabilitiesResponse;
import dev.kcfs.csi.v1.GetPluginInfoRequest;
import dev.kcfs.csi.v1.GetPluginInfoResponse;
import dev.kcfs.csi.v1.IdentityGrpc;
import dev.kcfs.csi.v1.ProbeRequest;
import dev.kcfs.csi.v1.ProbeResponse;
import io.grpc.stub.StreamObserver;
import java.util.function.BooleanSupplier;

/** The CSI Identity service: who we are, and whether we are ready (restart recovery done). */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {
    public static final String DRIVER_NAME = "csi.kcfs.dev";

    private final String version;
    private final BooleanSupplier ready;

    public IdentityService(String version, BooleanSupplier ready) {
        this.version = version;
        this.ready = ready;
    }

    @Override
    public void getPluginInfo(GetPluginInfoRequest request, StreamObserver<GetPluginInfoResponse> out) {
        out.onNext(GetPluginInfoResponse.newBuilder().setName(DRIVER_NAME).setVendorVersion(version).build());
        out.onCompleted();
    }

    @Override
    public void getPluginCapabilities(GetPluginCapabilitiesRequest request,
                                      StreamObserver<GetPluginCapabilitiesResponse> out) {
        // no CONTROLLER_SERVICE: volumes need no provisioning or attaching, only node publishing
        out.onNext(GetPluginCapabilitiesResponse.getDefaultInstance());
        out.onCompleted();
    }

    @Override
    public void probe(ProbeRequest request, StreamObserver<ProbeResponse> out) {
        out.onNext(ProbeResponse.newBuilder().setReady(BoolValue.of(ready.getAsBoolean())).build());
        out.onCompleted();
    }
}
