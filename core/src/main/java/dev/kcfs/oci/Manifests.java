package dev.kcfs.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Parses OCI / Docker schema 2 manifests and indexes, and picks a platform from an index. */
public final class Manifests {
    /** Manifests and indexes are small; anything bigger is refused before it is read (containerd uses the same 4 MiB). */
    public static final int MAX_MANIFEST_SIZE = 4 << 20;

    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_MANIFEST =
            "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_LIST =
            "application/vnd.docker.distribution.manifest.list.v2+json";

    /** The Accept header for manifest requests. */
    public static final String ACCEPT =
            String.join(", ", OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_INDEX_DEPTH = 4;

    private Manifests() {}

    /** What a manifest document is. */
    public sealed interface Document permits Index, Manifest {}

    public record Index(List<Descriptor> manifests) implements Document {}

    public record Manifest(String mediaType, Descriptor config, List<Descriptor> layers)
            implements Document {}

    /** Fetches a manifest or index by digest, verified, for walking down from an index. */
    @FunctionalInterface
    public interface Fetcher {
        byte[] fetch(Descriptor d) throws IOException;
    }

    /**
     * Resolves a top-level document (manifest or index) to a single-platform image.
     *
     * @param digest the top document's digest ({@code sha256:} of {@code bytes})
     */
    public static ImageManifest resolve(
            byte[] bytes,
            String contentType,
            String digest,
            Platform platform,
            Fetcher fetcher,
            String what)
            throws IOException {
        for (int depth = 0; ; depth++) {
            Document doc = parse(bytes, contentType, what + " (" + digest + ")");
            if (doc instanceof Manifest m) {
                return new ImageManifest(digest, m.mediaType(), m.config(), m.layers());
            }
            if (depth >= MAX_INDEX_DEPTH) {
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what + ": indexes nested deeper than " + MAX_INDEX_DEPTH + " levels");
            }
            Descriptor chosen = select(((Index) doc).manifests(), platform, what);
            bytes = fetcher.fetch(chosen);
            contentType = chosen.mediaType();
            digest = chosen.digest();
        }
    }

    public static Document parse(byte[] bytes, String contentType, String what)
            throws OciException {
        if (bytes.length > MAX_MANIFEST_SIZE) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": manifest of "
                            + bytes.length
                            + " bytes exceeds the "
                            + MAX_MANIFEST_SIZE
                            + "-byte limit");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": manifest is not valid JSON: "
                            + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT, what + ": manifest is not a JSON object");
        }
        String type = text(root, "mediaType");
        if (type == null) {
            type = contentType == null ? "" : contentType.split(";")[0].trim();
        }
        if (type.isEmpty()
                || type.equals("application/json")
                || type.equals("application/octet-stream")) {
            // OCI allows mediaType to be absent: tell by shape
            type = root.has("manifests") ? OCI_INDEX : root.has("layers") ? OCI_MANIFEST : "";
        }
        int schema = root.path("schemaVersion").asInt(-1);
        if (schema == 1 || type.startsWith("application/vnd.docker.distribution.manifest.v1")) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": Docker schema 1 manifests are not supported (deprecated since 2017); push the image again with a current tool");
        }
        switch (type) {
            case OCI_INDEX:
            case DOCKER_LIST:
                {
                    List<Descriptor> list = new ArrayList<>();
                    for (JsonNode m : root.path("manifests")) {
                        list.add(descriptor(m, what));
                    }
                    return new Index(list);
                }
            case OCI_MANIFEST:
            case DOCKER_MANIFEST:
                {
                    JsonNode config = root.get("config");
                    if (config == null) {
                        throw new OciException(
                                OciException.Kind.INVALID_CONTENT,
                                what + ": manifest has no config");
                    }
                    List<Descriptor> layers = new ArrayList<>();
                    for (JsonNode l : root.path("layers")) {
                        layers.add(descriptor(l, what));
                    }
                    return new Manifest(type, descriptor(config, what), layers);
                }
            default:
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what
                                + ": unknown manifest media type '"
                                + type
                                + "' (supported: "
                                + ACCEPT
                                + ")");
        }
    }

    /** The first index entry for {@code platform}; a clear error listing what the index offers otherwise. */
    public static Descriptor select(List<Descriptor> manifests, Platform platform, String what)
            throws OciException {
        for (Descriptor d : manifests) {
            if (platform.matches(d.platform())) {
                return d;
            }
        }
        List<String> offered = new ArrayList<>();
        for (Descriptor d : manifests) {
            offered.add(String.valueOf(d.platform()));
        }
        throw new OciException(
                OciException.Kind.NOT_FOUND,
                what
                        + ": no manifest for platform "
                        + platform
                        + " in the index (it offers "
                        + offered
                        + "); choose one with --platform");
    }

    /** Largest image config read: configs hold the history and environment, far below this. */
    public static final int MAX_CONFIG_SIZE = 8 << 20;

    /**
     * The {@code rootfs.diff_ids} of an image config: the sha256 of each layer's uncompressed tar, in
     * layer order. Every config has them (OCI and Docker alike); a config without is refused.
     */
    public static List<String> diffIds(byte[] config, String what) throws OciException {
        JsonNode root;
        try {
            root = JSON.readTree(config);
        } catch (IOException e) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": config is not valid JSON: "
                            + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode ids = root == null ? null : root.path("rootfs").get("diff_ids");
        if (ids == null || !ids.isArray()) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT, what + ": config has no rootfs.diff_ids");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode id : ids) {
            String digest = id.isTextual() ? id.asText() : String.valueOf(id);
            Digests.sha256Hex(digest, what + ": config rootfs.diff_ids[" + out.size() + "]");
            out.add(digest);
        }
        return out;
    }

    private static Descriptor descriptor(JsonNode n, String what) throws OciException {
        String mediaType = text(n, "mediaType");
        String digest = text(n, "digest");
        Digests.sha256Hex(digest, what + ": descriptor");
        JsonNode size = n.get("size");
        if (size == null || !size.canConvertToLong() || size.asLong() < 0) {
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what + ": descriptor " + digest + " has no valid size");
        }
        Platform platform = null;
        JsonNode p = n.get("platform");
        if (p != null && p.isObject()) {
            platform = new Platform(text(p, "os"), text(p, "architecture"), text(p, "variant"));
        }
        Map<String, String> annotations = new HashMap<>();
        n.path("annotations")
                .properties()
                .forEach(e -> annotations.put(e.getKey(), e.getValue().asText()));
        return new Descriptor(mediaType, digest, size.asLong(), platform, annotations);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
