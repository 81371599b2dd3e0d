package dev.kcfs.oci.layout;

import dev.kcfs.oci.BlobRanges;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.OciException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** An OCI image layout directory. */
public final class OciLayoutDirectory extends OciLayout {
    private final Path dir;

    /** @param tag the {@code org.opencontainers.image.ref.name} to use, or null if the layout holds one image */
    public OciLayoutDirectory(Path dir, String tag) throws OciException {
        super(tag);
        this.dir = dir;
        if (!Files.isRegularFile(dir.resolve("oci-layout"))) {
            throw new OciException(
                    "oci:" + dir + " is not an OCI image layout (no oci-layout file)");
        }
    }

    @Override
    protected byte[] indexJson() throws IOException {
        Path index = dir.resolve("index.json");
        if (Files.size(index) > Manifests.MAX_MANIFEST_SIZE) {
            throw new OciException(
                    describe()
                            + ": index.json is over the "
                            + Manifests.MAX_MANIFEST_SIZE
                            + "-byte limit");
        }
        return Files.readAllBytes(index);
    }

    @Override
    protected InputStream rawBlob(String hex, long size) throws IOException {
        Path p = dir.resolve("blobs").resolve("sha256").resolve(hex);
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new OciException(
                    describe()
                            + ": blob sha256:"
                            + hex
                            + " is missing (or not a regular file) at "
                            + p);
        }
        try {
            return Files.newInputStream(p);
        } catch (NoSuchFileException e) {
            throw new OciException(describe() + ": blob sha256:" + hex + " is missing at " + p);
        }
    }

    /** The blob file read at offsets: a layout on disk needs no download to skip what the store has. */
    @Override
    public BlobRanges ranges(Descriptor blob) throws IOException {
        String what = describe() + " blob " + blob.digest();
        Path p =
                dir.resolve("blobs")
                        .resolve("sha256")
                        .resolve(Digests.sha256Hex(blob.digest(), what));
        return (offset, length) -> {
            try (FileChannel ch =
                    FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                if (ch.size() != blob.size()) {
                    throw new OciException(
                            OciException.Kind.INVALID_CONTENT,
                            what
                                    + ": the file "
                                    + p
                                    + " has "
                                    + ch.size()
                                    + " bytes, the manifest says "
                                    + blob.size());
                }
                ByteBuffer buf = ByteBuffer.allocate(length);
                while (buf.hasRemaining()) {
                    if (ch.read(buf, offset + buf.position()) < 0) {
                        throw new OciException(
                                what + ": " + p + " ended before byte " + (offset + length));
                    }
                }
                return buf.array();
            } catch (NoSuchFileException e) {
                throw new OciException(OciException.Kind.NOT_FOUND, what + " is missing at " + p);
            }
        };
    }

    @Override
    public String describe() {
        return "oci:" + dir + (tag() != null ? ":" + tag() : "");
    }
}
