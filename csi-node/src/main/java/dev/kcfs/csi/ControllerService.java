package dev.kcfs.csi;

import dev.kcfs.csi.v1.ControllerGetCapabilitiesRequest;
import dev.kcfs.csi.v1.ControllerGetCapabilitiesResponse;
import dev.kcfs.csi.v1.ControllerGrpc;
import dev.kcfs.csi.v1.ControllerServiceCapability;
import io.grpc.stub.StreamObserver;

/**
 * Only ControllerGetCapabilities: conformance tools (csi-sanity) call it even when testing the
 * node service and treat an empty list as an error. PUBLISH_READONLY is the one capability that
 * is true of kcfs and asks for no further controller RPC.
 */
public final class ControllerService extends ControllerGrpc.ControllerImplBase {
    @Override
    public void controllerGetCapabilities(
            ControllerGetCapabilitiesRequest request,
            StreamObserver<ControllerGetCapabilitiesResponse> out) {
        out.onNext(
                ControllerGetCapabilitiesResponse.newBuilder()
                        .addCapabilities(
                                ControllerServiceCapability.newBuilder()
                                        .setRpc(
                                                ControllerServiceCapability.RPC
                                                        .newBuilder()
                                                        .setType(
                                                                ControllerServiceCapability.RPC
                                                                        .Type
                                                                        .PUBLISH_READONLY)))
                        .build());
        out.onCompleted();
    }
}
