package dev.kcfs.oci;

import java.io.IOException;

/**
 * The one error type of OCI import: a registry, layout, manifest, blob or layer that could not be
 * used. The message names the input (reference, digest, URL or path), what is wrong and, where there
 * is one, what to do. The {@link Kind} lets callers (the operator's condition reasons, retry
 * policies) decide without parsing messages.
 */
public class OciException extends IOException {
    /** What went wrong, coarse enough to choose a reaction. */
    public enum Kind {
        /** Connection refused, DNS, timeouts, a dropped transfer, or 429/5xx still failing after the retries. */
        UNREACHABLE,
        /** HTTP 401/403, a login the registry or its token server refused, or a login that is needed and missing. */
        UNAUTHORIZED,
        /** HTTP 404 for a manifest or blob, or an index without a manifest for the wanted platform. */
        NOT_FOUND,
        /** A reference (or a digest in it) that cannot be parsed. */
        INVALID_REFERENCE,
        /** Content that fails its checks: digest or size mismatch, unparsable or unsupported manifest, over a size limit. */
        INVALID_CONTENT,
        /** Anything else: unexpected HTTP answers, bad token responses, local files, layer contents. */
        OTHER
    }

    private final Kind kind;

    public OciException(String message) {
        this(Kind.OTHER, message);
    }

    public OciException(String message, Throwable cause) {
        this(Kind.OTHER, message, cause);
    }

    public OciException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public OciException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
