package dev.kcfs.csi;

import dev.kcfs.csi.registration.InfoRequest;
import dev.kcfs.csi.registration.PluginInfo;
import dev.kcfs.csi.registration.RegistrationGrpc;
import dev.kcfs.csi.registration.RegistrationStatus;
import dev.kcfs.csi.registration.RegistrationStatusResponse;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the driver with kubelet without the node-driver-registrar sidecar: serves kubelet's
 * plugin registration service on a socket in kubelet's {@code plugins_registry/} directory. kubelet
 * notices the socket, asks {@link #getInfo} for the driver name and the CSI socket, and reports the
 * outcome through {@link #notifyRegistrationStatus}. The socket is removed on close, which is how
 * kubelet learns the plugin is gone.
 */
public final class KubeletRegistration extends RegistrationGrpc.RegistrationImplBase
        implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KubeletRegistration.class);
    static final String CSI_PLUGIN_TYPE = "CSIPlugin";
    static final String CSI_VERSION = "1.0.0";

    /** What kubelet last said: null until it has called, then empty (registered) or its error. */
    private final AtomicReference<String> status = new AtomicReference<>();

    private final String driverName;
    private final Path csiSocketOnHost;
    private CsiServer server;

    private KubeletRegistration(String driverName, Path csiSocketOnHost) {
        this.driverName = driverName;
        this.csiSocketOnHost = csiSocketOnHost;
    }

    /**
     * Serves the registration socket {@code DRIVER-reg.sock} in {@code registrationDir}.
     * {@code csiSocketOnHost} is the CSI endpoint as kubelet sees it on the host, which differs from
     * the path inside the plugin's container.
     */
    public static KubeletRegistration start(
            Path registrationDir, String driverName, Path csiSocketOnHost) throws IOException {
        KubeletRegistration registration = new KubeletRegistration(driverName, csiSocketOnHost);
        registration.server =
                CsiServer.start(
                        registrationDir.resolve(driverName + "-reg.sock"), List.of(registration));
        return registration;
    }

    @Override
    public void getInfo(InfoRequest request, StreamObserver<PluginInfo> out) {
        out.onNext(
                PluginInfo.newBuilder()
                        .setType(CSI_PLUGIN_TYPE)
                        .setName(driverName)
                        .setEndpoint(csiSocketOnHost.toString())
                        .addSupportedVersions(CSI_VERSION)
                        .build());
        out.onCompleted();
    }

    @Override
    public void notifyRegistrationStatus(
            RegistrationStatus request, StreamObserver<RegistrationStatusResponse> out) {
        if (request.getPluginRegistered()) {
            LOG.info("kubelet registered {} at {}", driverName, csiSocketOnHost);
            status.set("");
        } else {
            LOG.error("kubelet refused to register {}: {}", driverName, request.getError());
            status.set(
                    request.getError().isEmpty() ? "refused without a reason" : request.getError());
        }
        out.onNext(RegistrationStatusResponse.getDefaultInstance());
        out.onCompleted();
    }

    /** kubelet's answer: null before it called, "" when registered, else its error. */
    public String status() {
        return status.get();
    }

    public Path socket() {
        return server.socket();
    }

    @Override
    public void close() throws InterruptedException {
        server.stop(5, TimeUnit.SECONDS);
    }
}
