package dev.kcfs.store;

import java.io.IOException;

/** A store operation failed; the message names the store path or object and what to do. */
public class StoreException extends IOException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
