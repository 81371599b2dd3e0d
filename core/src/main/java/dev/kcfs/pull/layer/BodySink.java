package dev.kcfs.pull.layer;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InputStream;

/**
 * Where file bodies go while a layer streams: normally a store batch that writes the object and
 * hashes it in the same pass. Called from several threads at once when a {@link BodyPipeline} is used.
 */
@FunctionalInterface
public interface BodySink {
    /**
     * Consumes exactly {@code size} bytes of {@code body} and returns their fs-verity digest.
     * The stream may end early only if the layer is broken; the sink then sees an IOException.
     */
    Digest add(InputStream body, long size) throws IOException;

    /** A sink that only hashes (nothing is stored): for dry runs and tests of the tree alone. */
    static BodySink hashOnly() {
        return (body, size) -> dev.kcfs.verity.FsVerity.digest(body);
    }
}
