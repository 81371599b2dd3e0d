package dev.kcfs.operator.registry;

/** Why an image could not be pinned; {@link #reason()} becomes the condition reason. */
public final class ResolveException extends Exception {
  /** Each kind maps to a condition reason and tells the operator whether retrying can help. */
  public enum Kind {
    InvalidReference(false),
    RegistryUnreachable(true),
    Unauthorized(true),
    ManifestNotFound(true),
    RegistryError(true);

    private final boolean retryable;

    Kind(boolean retryable) {
      this.retryable = retryable;
    }

    public boolean retryable() {
      return retryable;
    }
  }

  private final Kind kind;

  public ResolveException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public ResolveException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  public String reason() {
    return kind.name();
  }
}
