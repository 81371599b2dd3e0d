package dev.kcfs.image.dump;

import java.io.IOException;

/**
 * A composefs dump (composefs-dump(5)) that cannot be read: the message names the line and what is
 * wrong with it, e.g. {@code "line 12: Invalid mode 0170000"}.
 */
public final class DumpFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final long line;
    private final String reason;

    public DumpFormatException(long line, String reason) {
        super(line > 0 ? "line " + line + ": " + reason : reason);
        this.line = line;
        this.reason = reason;
    }

    /** 1-based line number, or 0 when the problem is not tied to one line. */
    public long line() {
        return line;
    }

    /** The problem without the line prefix. */
    public String reason() {
        return reason;
    }
}
