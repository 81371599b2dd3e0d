package dev.kcfs.oci.sources;

import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.layout.OciArchive;
import dev.kcfs.oci.layout.OciLayoutDirectory;
import dev.kcfs.oci.registry.RegistryClient;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Turns a user's image reference into an {@link ImageSource}:
 * <ul>
 *   <li>{@code oci:DIR[:TAG]}: an OCI layout directory (TAG = {@code org.opencontainers.image.ref.name});</li>
 *   <li>{@code oci-archive:FILE[:TAG]}: an uncompressed tar of a layout;</li>
 *   <li>{@code [docker://]REGISTRY/REPO[:TAG][@DIGEST]}: a registry, through the given client.</li>
 * </ul>
 * As in skopeo, the TAG of a path is what follows the last {@code :} after the last {@code /}.
 */
public final class ImageSources {
    private ImageSources() {}

    public static ImageSource open(String reference, RegistryClient registry) throws IOException {
        if (reference.startsWith("oci:")) {
            String[] p = splitTag(reference.substring(4));
            return new OciLayoutDirectory(Path.of(p[0]), p[1]);
        }
        if (reference.startsWith("oci-archive:")) {
            String[] p = splitTag(reference.substring(12));
            return new OciArchive(Path.of(p[0]), p[1]);
        }
        String ref = reference.startsWith("docker://") ? reference.substring(9) : reference;
        try {
            return registry.open(ImageReference.parse(ref));
        } catch (IllegalArgumentException e) {
            throw new OciException(e.getMessage());
        }
    }

    /**
     * The ref name an import gets when the user names none: a registry reference in its full,
     * normalised form ({@code docker.io/library/alpine:latest}), a layout reference as given.
     */
    public static String defaultRefName(String reference) throws OciException {
        if (reference.startsWith("oci:") || reference.startsWith("oci-archive:")) {
            return reference;
        }
        String ref = reference.startsWith("docker://") ? reference.substring(9) : reference;
        try {
            return ImageReference.parse(ref).toString();
        } catch (IllegalArgumentException e) {
            throw new OciException(e.getMessage());
        }
    }

    private static String[] splitTag(String s) throws OciException {
        int slash = s.lastIndexOf('/');
        int colon = s.lastIndexOf(':');
        String path = colon > slash ? s.substring(0, colon) : s;
        String tag = colon > slash ? s.substring(colon + 1) : null;
        if (path.isEmpty()) {
            throw new OciException("image reference '" + s + "' has no path");
        }
        return new String[] {path, tag == null || tag.isEmpty() ? null : tag};
    }
}
