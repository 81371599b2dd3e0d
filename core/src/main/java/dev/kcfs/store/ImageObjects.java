package dev.kcfs.store;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads which objects an image refers to, from the image itself. The store normally uses the
 * object list it saved when the image was added; this is the fallback for images without one (and
 * for fsck's cross-check), wired to the EROFS reader.
 */
@FunctionalInterface
public interface ImageObjects {
    /** No reader available: images without a saved object list are reported, and GC keeps all objects. */
    ImageObjects NONE = image -> null;

    /** The object list of the image, or null if this implementation cannot tell. */
    ObjectList read(Path image) throws IOException;
}
