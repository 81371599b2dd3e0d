package dev.kcfs.oci.tar;

import java.io.IOException;

/** A tar stream that is broken, hostile or uses a feature we do not support; the message names the entry. */
public final class TarFormatException extends IOException {
    public TarFormatException(String message) {
        super(message);
    }
}
