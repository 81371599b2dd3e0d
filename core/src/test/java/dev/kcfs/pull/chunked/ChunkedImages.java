package dev.kcfs.pull.chunked;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.Zstd;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.registry.RegistryPusher;
import dev.kcfs.oci.registry.TestImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;

/**
 * zstd:chunked test images made by the real tool: a {@link TestImage} written as an OCI layout and
 * converted by {@code skopeo copy --dest-compress-format zstd:chunked}; plus forgeries of such
 * layouts (an edited table of contents, re-framed and re-annotated as a hostile producer would).
 */
public final class ChunkedImages {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChunkedImages() {}

    public static void assumeSkopeo() {
        Assumptions.assumeTrue(
                Files.isExecutable(Path.of("/usr/bin/skopeo")),
                "skopeo is not installed (Debian package skopeo)");
    }

    /** {@code image} as a zstd:chunked OCI layout at {@code dir} (tag {@code t}), converted by skopeo. */
    public static Path convert(TestImage image, Path dir) throws Exception {
        Path plain = dir.resolveSibling(dir.getFileName() + "-plain");
        image.writeLayout(plain, "t");
        run(
                "skopeo",
                "copy",
                "--quiet",
                "--dest-compress-format",
                "zstd:chunked",
                "oci:" + plain + ":t",
                "oci:" + dir + ":t");
        return dir;
    }

    /** Pushes the layout's image (blobs and manifest byte for byte) as {@code repo:tag}. */
    public static void push(Path layout, RegistryPusher pusher, String repo, String tag)
            throws Exception {
        byte[] manifest = manifestBytes(layout);
        JsonNode m = JSON.readTree(manifest);
        pusher.blob(repo, blob(layout, m.get("config").get("digest").asText()));
        for (JsonNode l : m.get("layers")) {
            pusher.blob(repo, blob(layout, l.get("digest").asText()));
        }
        pusher.manifest(repo, tag, m.get("mediaType").asText(), manifest);
    }

    public static byte[] manifestBytes(Path layout) throws Exception {
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        return blob(layout, index.get("manifests").get(0).get("digest").asText());
    }

    public static byte[] blob(Path layout, String digest) throws Exception {
        return Files.readAllBytes(layout.resolve("blobs/sha256/" + digest.substring(7)));
    }

    /**
     * A copy of {@code layout} at {@code out} whose layer {@code index} has its table of contents
     * edited by {@code toc} (then compressed, framed, with footer and annotations that match it,
     * so only the edit is wrong), and its annotations then edited by {@code annotations}.
     */
    public static Path forge(
            Path layout,
            Path out,
            int index,
            Consumer<ObjectNode> toc,
            Consumer<ObjectNode> annotations)
            throws Exception {
        copyTree(layout, out);
        ObjectNode manifest = (ObjectNode) JSON.readTree(manifestBytes(layout));
        ObjectNode layer = (ObjectNode) manifest.get("layers").get(index);
        byte[] blob = blob(layout, layer.get("digest").asText());
        ObjectNode ann = (ObjectNode) layer.get("annotations");
        String[] pos = ann.get("io.containers.zstd-chunked.manifest-position").asText().split(":");
        long offset = Long.parseLong(pos[0]);
        int length = Integer.parseInt(pos[1]);
        int uncompressed = Integer.parseInt(pos[2]);
        byte[] footer = Arrays.copyOfRange(blob, (int) offset + length, blob.length);
        ObjectNode tree =
                (ObjectNode)
                        JSON.readTree(
                                Zstd.decompress(
                                        Arrays.copyOfRange(
                                                blob, (int) offset, (int) offset + length),
                                        uncompressed));
        toc.accept(tree);
        byte[] json = JSON.writeValueAsBytes(tree);
        byte[] compressed = Zstd.compress(json, 3);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(blob, 0, (int) offset - 8);
        b.write(le(8).putInt(0x184D2A50).putInt(compressed.length).array());
        b.write(compressed);
        ByteBuffer f = le(footer.length).put(footer, 0, footer.length);
        // footer: skippable header (8), then offset, length, uncompressed length, type, magic
        f.putLong(8, offset).putLong(16, compressed.length).putLong(24, json.length);
        b.write(f.array());
        byte[] forged = b.toByteArray();
        ann.put("io.containers.zstd-chunked.manifest-checksum", Digests.sha256(compressed));
        ann.put(
                "io.containers.zstd-chunked.manifest-position",
                offset + ":" + compressed.length + ":" + json.length + ":1");
        annotations.accept(ann);
        layer.put("digest", TestImage.writeBlob(out, forged).getFileName().toString())
                .put("size", forged.length);
        layer.put("digest", "sha256:" + layer.get("digest").asText());
        byte[] newManifest = JSON.writeValueAsBytes(manifest);
        TestImage.writeBlob(out, newManifest);
        ObjectNode idx = (ObjectNode) JSON.readTree(out.resolve("index.json").toFile());
        ((ObjectNode) idx.get("manifests").get(0))
                .put("digest", Digests.sha256(newManifest))
                .put("size", newManifest.length);
        Files.write(out.resolve("index.json"), JSON.writeValueAsBytes(idx));
        return out;
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
