package dev.kcfs.oci.layout;

import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.OciException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** An OCI image layout directory. */
public final class OciLayoutDirectory extends OciLayout {
    private final Path dir;

    /** @param tag the {@code org.opencontainers.image.ref.name} to use, or null if the layout holds one image */
    public OciLayoutDirectory(Path dir, String tag) throws OciException {
        super(tag);
        this.dir = dir;
        if (!Files.isRegularFile(dir.resolve("oci-layout"))) {
            throw new OciException("oci:" + dir + " is not an OCI image layout (no oci-layout file)");
        }
    }

    @Override
    protected byte[] indexJson() throws IOException {
        Path index = dir.resolve("index.json");
        if (Files.size(index) > Manifests.MAX_MANIFEST_SIZE) {
            throw new OciException(describe() + ": index.json is over the " + Manifests.MAX_MANIFEST_SIZE + "-byte limit");
        }
        return Files.readAllBytes(index);
    }

    @Override
    protected InputStream rawBlob(String hex, long size) throws IOException {
        Path p = dir.resolve("blobs").resolve("sha256").resolve(hex);
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new OciException(describe() + ": blob sha256:" + hex + " is missing (or not a regular file) at " + p);
        }
        try {
            return Files.newInputStream(p);
        } catch (NoSuchFileException e) {
            throw new OciException(describe() + ": blob sha256:" + hex + " is missing at " + p);
        }
    }

    @Override
    public String describe() {
        return "oci:" + dir + (tag() != null ? ":" + tag() : "");
    }
}
