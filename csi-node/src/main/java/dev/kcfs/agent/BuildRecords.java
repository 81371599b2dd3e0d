package dev.kcfs.agent;

import dev.kcfs.store.RecordFile;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent built for each image name, kept next to the store ({@code <store>/agent/builds/})
 * so a restarted agent knows which pinned image a ref was built from (and does not rebuild every
 * image) and when each image was last used (for LRU eviction). The ref stays the truth for what
 * is mounted; a record without a ref is ignored, a ref without a record is rebuilt when wanted.
 */
final class BuildRecords {
    private static final Logger LOG = LoggerFactory.getLogger(BuildRecords.class);

    /** One build: its key, the composefs digest and the counts reported for it. */
    record Record(
            String name,
            BuildKey key,
            Digest digest,
            long files,
            long objects,
            long bytes,
            Instant builtAt,
            Instant lastUsed) {
        Record withLastUsed(Instant when) {
            return new Record(name, key, digest, files, objects, bytes, builtAt, when);
        }
    }

    private final Path dir;

    BuildRecords(Path storeRoot) throws IOException {
        this.dir = Files.createDirectories(storeRoot.resolve("agent/builds"));
    }

    /** ComposefsImage names are DNS subdomains, so they are safe file names; anything else is refused. */
    private Path file(String name) {
        if (!name.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?") || name.length() > 253) {
            throw new IllegalArgumentException(
                    "'" + name + "' is not a ComposefsImage name (a DNS subdomain)");
        }
        return dir.resolve(name + ".properties");
    }

    void save(Record r) throws IOException {
        Properties p = new Properties();
        p.setProperty("image", r.key().imageRef());
        p.setProperty("formatVersion", Integer.toString(r.key().formatVersion()));
        p.setProperty("platform", r.key().platform());
        p.setProperty("digest", r.digest().hex());
        p.setProperty("files", Long.toString(r.files()));
        p.setProperty("objects", Long.toString(r.objects()));
        p.setProperty("bytes", Long.toString(r.bytes()));
        p.setProperty("builtAt", r.builtAt().toString());
        if (r.lastUsed() != null) {
            p.setProperty("lastUsed", r.lastUsed().toString());
        }
        Path target = file(r.name());
        RecordFile.replace(target, p, "kcfs node agent build record");
    }

    void remove(String name) throws IOException {
        Files.deleteIfExists(file(name));
    }

    Optional<Record> load(String name) {
        Path f;
        try {
            f = file(name);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(f)) {
            p.load(in);
            String lastUsed = p.getProperty("lastUsed");
            return Optional.of(
                    new Record(
                            name,
                            new BuildKey(
                                    p.getProperty("image"),
                                    Integer.parseInt(p.getProperty("formatVersion")),
                                    p.getProperty("platform")),
                            Digest.parse(p.getProperty("digest")),
                            Long.parseLong(p.getProperty("files")),
                            Long.parseLong(p.getProperty("objects")),
                            Long.parseLong(p.getProperty("bytes")),
                            Instant.parse(p.getProperty("builtAt")),
                            lastUsed == null ? null : Instant.parse(lastUsed)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            // a damaged record only costs a rebuild
            LOG.warn("ignoring unreadable build record {}: {}", f, e.toString());
            return Optional.empty();
        }
    }

    Map<String, Record> loadAll() throws IOException {
        Map<String, Record> out = new HashMap<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.properties")) {
            for (Path p : s) {
                String f = p.getFileName().toString();
                String name = f.substring(0, f.length() - ".properties".length());
                load(name).ifPresent(r -> out.put(name, r));
            }
        }
        return out;
    }
}
