package dev.kcfs.publish;

/**
 * The answer depends on cluster state the node agent has not loaded yet (its watches have not
 * listed once): the caller should retry, and the message says what is missing.
 */
public final class PolicyUnavailableException extends RuntimeException {
    public PolicyUnavailableException(String message) {
        super(message);
    }
}
