package dev.kcfs.oci.layout;

import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.VerifiedBlobStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Images in an OCI image layout ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/…}), read
 * from a directory ({@link OciLayoutDirectory}) or an uncompressed tar of one ({@link OciArchive}).
 * Every blob, {@code index.json} excepted, is checked against its digest as it is read, exactly as
 * registry blobs are.
 */
public abstract class OciLayout implements ImageSource {
    /** The annotation that names a manifest in {@code index.json} ({@code skopeo}, {@code umoci}, {@code oras} use it). */
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    private final String tag;

    protected OciLayout(String tag) {
        this.tag = tag;
    }

    /** The raw bytes of {@code index.json}. */
    protected abstract byte[] indexJson() throws IOException;

    /** An unverified stream of {@code blobs/sha256/HEX}, or an exception naming what is missing. */
    protected abstract InputStream rawBlob(String hex, long size) throws IOException;

    @Override
    public ImageManifest resolve(Platform platform) throws IOException {
        byte[] index = indexJson();
        Manifests.Document doc =
                Manifests.parse(index, Manifests.OCI_INDEX, describe() + " index.json");
        if (!(doc instanceof Manifests.Index idx)) {
            throw new OciException(describe() + ": index.json is not an image index");
        }
        Descriptor top = pick(idx.manifests());
        byte[] bytes = readSmall(top);
        return Manifests.resolve(
                bytes, top.mediaType(), top.digest(), platform, this::readSmall, describe());
    }

    private Descriptor pick(List<Descriptor> entries) throws OciException {
        List<String> names = new ArrayList<>();
        for (Descriptor d : entries) {
            String name = d.annotations().get(REF_NAME);
            if (tag != null && tag.equals(name)) {
                return d;
            }
            names.add(name == null ? d.digest() : name);
        }
        if (tag == null && entries.size() == 1) {
            return entries.get(0);
        }
        if (tag == null) {
            throw new OciException(
                    describe()
                            + ": index.json holds "
                            + entries.size()
                            + " images "
                            + names
                            + "; name one with :TAG");
        }
        throw new OciException(
                describe() + ": no image tagged '" + tag + "' (index.json holds " + names + ")");
    }

    private byte[] readSmall(Descriptor d) throws IOException {
        if (d.size() > Manifests.MAX_MANIFEST_SIZE) {
            throw new OciException(
                    describe()
                            + ": manifest "
                            + d.digest()
                            + " declares "
                            + d.size()
                            + " bytes, over the "
                            + Manifests.MAX_MANIFEST_SIZE
                            + "-byte limit");
        }
        try (InputStream in = openBlob(d)) {
            return in.readAllBytes();
        }
    }

    @Override
    public InputStream openBlob(Descriptor blob) throws IOException {
        String what = describe() + " blob " + blob.digest();
        String hex = Digests.sha256Hex(blob.digest(), what);
        return new VerifiedBlobStream(rawBlob(hex, blob.size()), blob.digest(), blob.size(), what);
    }

    protected String tag() {
        return tag;
    }
}
