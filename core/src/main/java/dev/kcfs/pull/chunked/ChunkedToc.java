package dev.kcfs.pull.chunked;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.Zstd;
import dev.kcfs.oci.BlobRanges;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.OciException;
import dev.kcfs.pull.layer.LayerCompression;
import dev.kcfs.pull.layer.TreeBuilder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The table of contents of a zstd:chunked layer: where each regular file's compressed body lies in
 * the blob and the sha256 of its content.
 *
 * <p>Facts of the format this relies on (as containers/storage writes it, e.g. skopeo 1.9.3): the
 * layer is a {@code tar+zstd} blob in which every regular file's body is a run of zstd frames of
 * its own, from {@code offset} to {@code endOffset} of its TOC entry, so the frames between two
 * bodies hold the tar headers. The TOC is zstd-compressed JSON in a skippable frame near the end;
 * the layer descriptor's annotation {@value #POSITION} says {@code offset:length:uncompressedLength:type}
 * of the compressed TOC and {@value #CHECKSUM} its sha256. Only what is needed to fetch bodies is
 * read from the TOC; the image's metadata still comes from the tar headers, as in a full pull.
 */
public final class ChunkedToc {
    public static final String CHECKSUM = "io.containers.zstd-chunked.manifest-checksum";
    public static final String POSITION = "io.containers.zstd-chunked.manifest-position";

    /** The TOC type the position names: the CRFS-style JSON table (the only one written so far). */
    private static final int TYPE_CRFS = 1;

    /** Limits on what the TOC may make us allocate: far beyond real images (a TOC line is ~300 bytes). */
    static final long MAX_COMPRESSED = 64L << 20;

    static final long MAX_UNCOMPRESSED = 512L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A regular file's body in the blob: compressed bytes {@code [offset, endOffset)} decompress to {@code size} bytes with this sha256. */
    public record Body(String name, long size, byte[] sha256, long offset, long endOffset) {}

    private final List<Body> bodies;
    private final long tocOffset;
    private final long tocLength;

    private ChunkedToc(List<Body> bodies, long tocOffset, long tocLength) {
        this.bodies = bodies;
        this.tocOffset = tocOffset;
        this.tocLength = tocLength;
    }

    /** Bodies in blob order (non-empty files only). */
    public List<Body> bodies() {
        return bodies;
    }

    /** Where the skippable frame holding the TOC starts: the tar's frames end there. */
    public long tocOffset() {
        return tocOffset;
    }

    /** Bytes read to get the TOC. */
    public long tocLength() {
        return tocLength;
    }

    /** Why a layer is pulled whole instead (null: it can be pulled partially). */
    public static String notChunked(Descriptor layer) {
        LayerCompression c;
        try {
            c = LayerCompression.ofMediaType(layer.mediaType());
        } catch (IllegalArgumentException e) {
            return "unknown media type";
        }
        if (c != LayerCompression.ZSTD) {
            return "not zstd";
        }
        if (!layer.annotations().containsKey(CHECKSUM)
                || !layer.annotations().containsKey(POSITION)) {
            return "no zstd:chunked table of contents";
        }
        return null;
    }

    /**
     * Reads and checks the TOC of a layer for which {@link #notChunked} said null. Returns null when
     * the source turns out not to serve ranges (the caller pulls the layer whole).
     *
     * @param what names the layer in errors
     */
    public static ChunkedToc read(Descriptor layer, BlobRanges ranges, String what)
            throws IOException {
        String checksum = layer.annotations().get(CHECKSUM);
        String position = layer.annotations().get(POSITION);
        String[] p = position.split(":");
        long offset;
        long length;
        long uncompressed;
        int type;
        try {
            if (p.length != 4) {
                throw new NumberFormatException();
            }
            offset = Long.parseLong(p[0]);
            length = Long.parseLong(p[1]);
            uncompressed = Long.parseLong(p[2]);
            type = Integer.parseInt(p[3]);
        } catch (NumberFormatException e) {
            throw bad(
                    what,
                    "annotation "
                            + POSITION
                            + " is '"
                            + position
                            + "', not offset:length:uncompressedLength:type");
        }
        if (type != TYPE_CRFS) {
            throw bad(
                    what,
                    "table of contents type "
                            + type
                            + " is not supported (only "
                            + TYPE_CRFS
                            + ")");
        }
        if (offset < 8 || length <= 0 || offset + length > layer.size()) {
            throw bad(
                    what,
                    "the table of contents at "
                            + offset
                            + "+"
                            + length
                            + " lies outside the "
                            + layer.size()
                            + "-byte blob");
        }
        if (length > MAX_COMPRESSED || uncompressed <= 0 || uncompressed > MAX_UNCOMPRESSED) {
            throw bad(
                    what,
                    "a table of contents of "
                            + length
                            + " bytes ("
                            + uncompressed
                            + " uncompressed) is over the limits ("
                            + MAX_COMPRESSED
                            + ", "
                            + MAX_UNCOMPRESSED
                            + ")");
        }
        String wantHex = Digests.sha256Hex(checksum, what + " annotation " + CHECKSUM);
        // the skippable frame's header too: the tar's frames must end right before it
        byte[] raw = ranges.read(offset - 8, (int) length + 8);
        if (raw == null) {
            return null;
        }
        if (!(raw[0] == 0x50 && raw[1] == 0x2a && raw[2] == 0x4d && raw[3] == 0x18)) {
            throw bad(what, "no zstd skippable frame before the table of contents at " + offset);
        }
        byte[] compressed = java.util.Arrays.copyOfRange(raw, 8, raw.length);
        String actual = Digests.sha256(compressed);
        if (!actual.equals("sha256:" + wantHex)) {
            throw bad(
                    what,
                    "the table of contents hashes to "
                            + actual
                            + " but the manifest's "
                            + CHECKSUM
                            + " says "
                            + checksum);
        }
        byte[] json;
        try {
            json = Zstd.decompress(compressed, (int) uncompressed);
        } catch (RuntimeException e) {
            throw bad(what, "the table of contents is not valid zstd (" + e.getMessage() + ")");
        }
        if (json.length != uncompressed) {
            throw bad(
                    what,
                    "the table of contents decompresses to "
                            + json.length
                            + " bytes, the annotation says "
                            + uncompressed);
        }
        return new ChunkedToc(parse(json, offset - 8, what), offset - 8, length + 8);
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Entry(
            String type,
            String name,
            Long size,
            String digest,
            Long offset,
            Long endOffset,
            String chunkType) {}

    /** The bodies of the TOC's regular files, checked to lie in order, apart, and before {@code end}. */
    static List<Body> parse(byte[] json, long end, String what) throws IOException {
        List<Body> bodies = new ArrayList<>();
        long entries = 0;
        long previousEnd = 0;
        String previousName = null;
        try (JsonParser parser = JSON.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw bad(what, "the table of contents is not a JSON object");
            }
            boolean sawEntries = false;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken t = parser.nextToken();
                if (!"entries".equals(field)) {
                    parser.skipChildren();
                    continue;
                }
                if (t != JsonToken.START_ARRAY) {
                    throw bad(what, "the table of contents' entries are not a list");
                }
                sawEntries = true;
                while (parser.nextToken() == JsonToken.START_OBJECT) {
                    if (++entries > TreeBuilder.MAX_ENTRIES) {
                        throw bad(
                                what,
                                "the table of contents lists more than "
                                        + TreeBuilder.MAX_ENTRIES
                                        + " entries; refused to protect memory");
                    }
                    Entry e = JSON.readValue(parser, Entry.class);
                    if ("chunk".equals(e.type())
                            && e.chunkType() != null
                            && !e.chunkType().isEmpty()
                            && !"data".equals(e.chunkType())) {
                        // e.g. holes of sparse files: their bodies are not plain frames, so not
                        // fetched this way
                        throw new Unsupported("chunk type '" + e.chunkType() + "'");
                    }
                    if (!"reg".equals(e.type()) || e.size() == null || e.size() == 0) {
                        continue;
                    }
                    String name = e.name() == null ? "?" : e.name();
                    long off = e.offset() == null ? -1 : e.offset();
                    long endOff = e.endOffset() == null ? -1 : e.endOffset();
                    if (e.size() < 0) {
                        throw bad(what, "entry " + name + " has size " + e.size());
                    }
                    if (off <= 0 || endOff <= off || endOff > end) {
                        throw bad(
                                what,
                                "entry "
                                        + name
                                        + " has its body at "
                                        + off
                                        + ".."
                                        + endOff
                                        + ", outside the layer's "
                                        + end
                                        + " bytes of tar frames");
                    }
                    if (off < previousEnd) {
                        throw bad(
                                what,
                                "entry "
                                        + name
                                        + " has its body at "
                                        + off
                                        + ".."
                                        + endOff
                                        + ", overlapping "
                                        + previousName
                                        + " (ending at "
                                        + previousEnd
                                        + ")");
                    }
                    byte[] sha;
                    try {
                        sha =
                                HexFormat.of()
                                        .parseHex(
                                                Digests.sha256Hex(
                                                        e.digest() == null ? "" : e.digest(),
                                                        what + " entry " + name));
                    } catch (OciException ex) {
                        throw bad(
                                what,
                                "entry "
                                        + name
                                        + " has no valid sha256 digest ('"
                                        + e.digest()
                                        + "')");
                    }
                    bodies.add(new Body(name, e.size(), sha, off, endOff));
                    previousEnd = endOff;
                    previousName = name;
                }
                if (parser.currentToken() != JsonToken.END_ARRAY) {
                    throw bad(what, "the table of contents' entries are not a list of objects");
                }
            }
            if (!sawEntries) {
                throw bad(what, "the table of contents has no entries");
            }
        } catch (OciException e) {
            throw e;
        } catch (IOException e) {
            throw bad(what, "the table of contents is not valid JSON (" + e.getMessage() + ")");
        }
        return List.copyOf(bodies);
    }

    /** A TOC this reader cannot use although it is valid: the layer is pulled whole. */
    public static final class Unsupported extends OciException {
        Unsupported(String what) {
            super(Kind.INVALID_CONTENT, what);
        }
    }

    static OciException bad(String what, String problem) {
        return new OciException(
                OciException.Kind.INVALID_CONTENT,
                what + ": " + problem + "; the zstd:chunked layer is corrupt or forged, refused");
    }
}
