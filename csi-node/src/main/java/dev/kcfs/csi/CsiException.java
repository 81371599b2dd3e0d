package dev.kcfs.csi;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The one error type of the CSI boundary: a gRPC status code chosen deliberately plus a message
 * that ends up in the pod's {@code FailedMount} events, so it names the input, says what is wrong
 * and what to do.
 */
public final class CsiException extends RuntimeException {
    private final Status.Code code;

    public CsiException(Status.Code code, String message) {
        super(message);
        this.code = code;
    }

    public CsiException(Status.Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Status.Code code() {
        return code;
    }

    public StatusRuntimeException toStatus() {
        return Status.fromCode(code)
                .withDescription(getMessage())
                .withCause(getCause())
                .asRuntimeException();
    }

    static CsiException invalid(String message) {
        return new CsiException(Status.Code.INVALID_ARGUMENT, message);
    }
}
