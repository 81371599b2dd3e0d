package dev.kcfs.oci.layout;

import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.stream.BlockInputStream;
import dev.kcfs.oci.tar.TarEntry;
import dev.kcfs.oci.tar.TarEntryType;
import dev.kcfs.oci.tar.TarReader;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * An OCI archive: an uncompressed tar of an OCI image layout (what {@code skopeo copy … oci-archive:}
 * writes). The tar is scanned once for member offsets; blobs are then read in place, never extracted.
 */
public final class OciArchive extends OciLayout {
    private final Path file;
    private final Map<String, long[]> members =
            new HashMap<>(); // normalised name -> {offset, size}

    public OciArchive(Path file, String tag) throws IOException {
        super(tag);
        this.file = file;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            TarReader r = new TarReader(in, describe());
            TarEntry e;
            while ((e = r.next()) != null) {
                if (e.type() == TarEntryType.REGULAR) {
                    String name = new String(e.name(), StandardCharsets.UTF_8);
                    while (name.startsWith("./") || name.startsWith("/")) {
                        name = name.substring(name.indexOf('/') + 1);
                    }
                    members.put(name, new long[] {r.offset(), e.size()});
                }
            }
        }
        if (!members.containsKey("oci-layout")) {
            throw new OciException(describe() + " is not an OCI archive (no oci-layout member)");
        }
    }

    @Override
    protected byte[] indexJson() throws IOException {
        long[] m = member("index.json");
        if (m[1] > Manifests.MAX_MANIFEST_SIZE) {
            throw new OciException(
                    describe()
                            + ": index.json is over the "
                            + Manifests.MAX_MANIFEST_SIZE
                            + "-byte limit");
        }
        try (InputStream in = slice(m)) {
            return in.readAllBytes();
        }
    }

    @Override
    protected InputStream rawBlob(String hex, long size) throws IOException {
        return slice(member("blobs/sha256/" + hex));
    }

    private long[] member(String name) throws OciException {
        long[] m = members.get(name);
        if (m == null) {
            throw new OciException(describe() + ": member " + name + " is missing");
        }
        return m;
    }

    private InputStream slice(long[] m) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        ch.position(m[0]);
        InputStream raw = Channels.newInputStream(ch);
        return new BlockInputStream() {
            long left = m[1];

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left == 0) {
                    return -1;
                }
                int n = raw.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }

    @Override
    public String describe() {
        return "oci-archive:" + file + (tag() != null ? ":" + tag() : "");
    }
}
