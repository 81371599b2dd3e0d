package dev.kcfs.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks an OCI image tar (an OCI layout: index.json, blobs/sha256/...) as a container runtime
 * would: the first manifest's layers in order into one root directory, with the modes the layers
 * give. Enough for the images Jib writes (regular files, directories, symlinks; no whiteouts). The
 * production import code in core handles hostile tars; this only reads our own build output.
 */
final class OciLayout {
    /** The unpacked image: its root and the config's entrypoint. */
    record Unpacked(Path root, List<String> entrypoint) {}

    private OciLayout() {}

    static Unpacked unpack(Path imageTar, Path work) throws IOException {
        Path layout = work.resolve("layout");
        extract(Files.newInputStream(imageTar), layout);
        ObjectMapper json = new ObjectMapper();
        JsonNode index = json.readTree(layout.resolve("index.json").toFile());
        JsonNode manifest =
                json.readTree(
                        blob(layout, index.path("manifests").path(0).path("digest").asText())
                                .toFile());
        JsonNode config =
                json.readTree(
                        blob(layout, manifest.path("config").path("digest").asText()).toFile());
        Path root = work.resolve("rootfs");
        Files.createDirectories(root);
        for (JsonNode layer : manifest.path("layers")) {
            String type = layer.path("mediaType").asText();
            InputStream in = Files.newInputStream(blob(layout, layer.path("digest").asText()));
            extract(type.endsWith("+gzip") ? new GZIPInputStream(in, 1 << 16) : in, root);
        }
        List<String> entrypoint = new ArrayList<>();
        config.path("config").path("Entrypoint").forEach(a -> entrypoint.add(a.asText()));
        return new Unpacked(root, entrypoint);
    }

    private static Path blob(Path layout, String digest) {
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            throw new IllegalArgumentException(
                    "not a sha256 digest in the OCI layout: '" + digest + "'");
        }
        return layout.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
    }

    private static void extract(InputStream raw, Path dest) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                Path target = dest.resolve(e.getName()).normalize();
                if (!target.startsWith(dest) || e.getName().contains(".wh.")) {
                    throw new IOException("unexpected entry in our own image: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else if (e.isSymbolicLink()) {
                    Files.createDirectories(target.getParent());
                    Files.deleteIfExists(target);
                    Files.createSymbolicLink(target, Path.of(e.getLinkName()));
                    continue;
                } else if (e.isFile()) {
                    Files.createDirectories(target.getParent());
                    Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
                } else {
                    throw new IOException("unexpected entry type in our own image: " + e.getName());
                }
                Files.setPosixFilePermissions(target, permissions(e.getMode()));
            }
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                    PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                    PosixFilePermission.OWNER_READ
        };
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                p.add(bits[i]);
            }
        }
        return p;
    }
}
