package dev.kcfs.oci;

import java.io.IOException;

/**
 * The one error type of OCI import: a registry, layout, manifest, blob or layer that could not be
 * used. The message names the input (reference, digest, URL or path), what is wrong and, where there
 * is one, what to do.
 */
public class OciException extends IOException {
    public OciException(String message) {
        super(message);
    }

    public OciException(String message, Throwable cause) {
        super(message, cause);
    }
}
