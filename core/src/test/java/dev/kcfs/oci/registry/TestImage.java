package dev.kcfs.oci.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.Zstd;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.Manifests;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/** A test image: layers (tar bytes, compressed as asked), a config and a manifest, pushable or writable as a layout. */
public final class TestImage {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A layer blob and its media type. */
    public record Layer(String mediaType, byte[] blob, byte[] tar) {
        public static Layer plain(byte[] tar) {
            return new Layer("application/vnd.oci.image.layer.v1.tar", tar, tar);
        }

        public static Layer gzip(byte[] tar) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            try (GZIPOutputStream g = new GZIPOutputStream(o)) {
                g.write(tar);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new Layer("application/vnd.oci.image.layer.v1.tar+gzip", o.toByteArray(), tar);
        }

        public static Layer dockerGzip(byte[] tar) {
            return new Layer(
                    "application/vnd.docker.image.rootfs.diff.tar.gzip", gzip(tar).blob, tar);
        }

        public static Layer zstd(byte[] tar) {
            return new Layer(
                    "application/vnd.oci.image.layer.v1.tar+zstd", Zstd.compress(tar, 3), tar);
        }
    }

    public final List<Layer> layers;
    public final byte[] config;
    public final byte[] manifest;
    public final String manifestMediaType;

    /** Overrides for hostile manifests: descriptor sizes as written. */
    private final List<Long> declaredSizes;

    public TestImage(String arch, List<Layer> layers) {
        this(arch, layers, false, null);
    }

    public TestImage(String arch, List<Layer> layers, boolean docker, List<Long> declaredSizes) {
        this.layers = List.copyOf(layers);
        this.declaredSizes = declaredSizes;
        ObjectNode cfg = JSON.createObjectNode().put("architecture", arch).put("os", "linux");
        ArrayNode diffIds = cfg.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        layers.forEach(l -> diffIds.add(Digests.sha256(l.tar())));
        cfg.putObject("config");
        this.config = bytes(cfg);
        this.manifestMediaType = docker ? Manifests.DOCKER_MANIFEST : Manifests.OCI_MANIFEST;
        ObjectNode m =
                JSON.createObjectNode().put("schemaVersion", 2).put("mediaType", manifestMediaType);
        m.putObject("config")
                .put(
                        "mediaType",
                        docker
                                ? "application/vnd.docker.container.image.v1+json"
                                : "application/vnd.oci.image.config.v1+json")
                .put("digest", Digests.sha256(config))
                .put("size", config.length);
        ArrayNode ls = m.putArray("layers");
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            long size =
                    declaredSizes != null && declaredSizes.get(i) != null
                            ? declaredSizes.get(i)
                            : l.blob().length;
            ls.addObject()
                    .put("mediaType", l.mediaType())
                    .put("digest", Digests.sha256(l.blob()))
                    .put("size", size);
        }
        this.manifest = bytes(m);
    }

    public String digest() {
        return Digests.sha256(manifest);
    }

    /** Pushes blobs and the manifest under {@code tag}; returns the manifest digest. */
    public String push(RegistryPusher p, String repo, String tag)
            throws IOException, InterruptedException {
        pushBlobs(p, repo);
        return p.manifest(repo, tag, manifestMediaType, manifest);
    }

    public void pushBlobs(RegistryPusher p, String repo) throws IOException, InterruptedException {
        p.blob(repo, config);
        for (Layer l : layers) {
            p.blob(repo, l.blob());
        }
    }

    /** An OCI index over several images, with platforms. */
    public static byte[] index(List<TestImage> images, List<String> platforms) {
        ObjectNode idx =
                JSON.createObjectNode()
                        .put("schemaVersion", 2)
                        .put("mediaType", Manifests.OCI_INDEX);
        ArrayNode ms = idx.putArray("manifests");
        for (int i = 0; i < images.size(); i++) {
            String[] p = platforms.get(i).split("/");
            ObjectNode d =
                    ms.addObject()
                            .put("mediaType", images.get(i).manifestMediaType)
                            .put("digest", images.get(i).digest())
                            .put("size", images.get(i).manifest.length);
            ObjectNode plat = d.putObject("platform").put("architecture", p[1]).put("os", p[0]);
            if (p.length > 2) {
                plat.put("variant", p[2]);
            }
        }
        return bytes(idx);
    }

    /** Writes an OCI layout with this image tagged {@code tag}. */
    public void writeLayout(Path dir, String tag) throws IOException {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        writeBlob(dir, config);
        writeBlob(dir, manifest);
        for (Layer l : layers) {
            writeBlob(dir, l.blob());
        }
        ObjectNode idx =
                JSON.createObjectNode()
                        .put("schemaVersion", 2)
                        .put("mediaType", Manifests.OCI_INDEX);
        idx.putArray("manifests")
                .addObject()
                .put("mediaType", manifestMediaType)
                .put("digest", digest())
                .put("size", manifest.length)
                .putObject("annotations")
                .put("org.opencontainers.image.ref.name", tag);
        Files.write(dir.resolve("index.json"), bytes(idx));
    }

    public static Path writeBlob(Path dir, byte[] data) throws IOException {
        Path p = dir.resolve("blobs/sha256/" + Digests.sha256(data).substring(7));
        Files.write(p, data);
        return p;
    }

    private static byte[] bytes(Object node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<Layer> list(Layer... ls) {
        return new ArrayList<>(List.of(ls));
    }
}
