package dev.kcfs.pull.chunked;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.kcfs.oci.BlobRanges;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.stream.BlockInputStream;
import dev.kcfs.oci.tar.TarEntry;
import dev.kcfs.pull.layer.KnownBodies;
import dev.kcfs.pull.layer.TreeBuilder;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One zstd:chunked layer pulled partially: the file bodies the store already holds are not
 * downloaded; everything else (the frames with the tar headers and the missing bodies) is fetched
 * in coalesced ranges, several at a time, in blob order.
 *
 * <p>{@link #tar()} is the layer's uncompressed tar, rebuilt from the fetched frames with the stored
 * objects' bytes spliced in where their bodies go. So the caller applies the very same tar as a full
 * pull would (same parser, limits and path rules, same tree, same composefs digest) and checks it
 * against the layer's diff_id: the blob's own digest cannot be checked without all of its bytes, but
 * the diff_id covers every header and body. Along the way, every fetched body must hash to its TOC
 * sha256, and every tar body must start exactly where the TOC says one does ({@link #known()}).
 */
public final class PartialLayer implements AutoCloseable {
    /** Ranges closer than this are fetched as one (a small skipped body costs less than a request). */
    static final long COALESCE_GAP = 16 << 10;

    /** Most bytes one request asks for (several are in flight, so memory is bounded by their product). */
    static final int PIECE = 4 << 20;

    /** Finds a stored object by the sha256 of its content. */
    @FunctionalInterface
    public interface Lookup {
        /** The stored object with this content and size, or null. */
        Digest find(byte[] sha256, long size);
    }

    private sealed interface Segment permits Gap, FileBody {
        long start();

        long end();
    }

    private record Gap(long start, long end) implements Segment {}

    private record FileBody(ChunkedToc.Body body, Digest stored, Path object) implements Segment {
        public long start() {
            return body.offset();
        }

        public long end() {
            return body.endOffset();
        }
    }

    private record Piece(long start, int length) {}

    private final String what;
    private final BlobRanges ranges;
    private final List<Segment> segments = new ArrayList<>();
    private final List<Piece> pieces = new ArrayList<>();
    private final ExecutorService fetchers;
    private final int inFlight;
    private final long tocBytes;
    private int filesPresent;
    private int filesFetched;
    private long plannedBytes;

    /**
     * @param objectPath where a stored object's bytes are read (to splice them into the tar)
     * @param inFlight   range requests at once (bounded concurrency)
     */
    public PartialLayer(
            ChunkedToc toc,
            BlobRanges ranges,
            Lookup lookup,
            java.util.function.Function<Digest, Path> objectPath,
            int inFlight,
            String what) {
        this.what = what;
        this.ranges = ranges;
        this.inFlight = Math.max(1, inFlight);
        this.tocBytes = toc.tocLength();
        long at = 0;
        for (ChunkedToc.Body b : toc.bodies()) {
            segments.add(new Gap(at, b.offset()));
            Digest stored =
                    b.size() > TreeBuilder.INLINE_LIMIT ? lookup.find(b.sha256(), b.size()) : null;
            segments.add(new FileBody(b, stored, stored == null ? null : objectPath.apply(stored)));
            if (stored != null) {
                filesPresent++;
            } else {
                filesFetched++;
            }
            at = b.endOffset();
        }
        segments.add(new Gap(at, toc.tocOffset()));
        planPieces();
        this.fetchers =
                Executors.newFixedThreadPool(
                        this.inFlight,
                        r -> {
                            Thread t = new Thread(r, "kcfs-range-fetch");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /** Merges the ranges to fetch (all but the stored bodies) and cuts them into pieces. */
    private void planPieces() {
        List<long[]> merged = new ArrayList<>();
        for (Segment s : segments) {
            if (s.end() <= s.start() || (s instanceof FileBody f && f.stored() != null)) {
                continue;
            }
            long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && s.start() - last[1] <= COALESCE_GAP) {
                last[1] = Math.max(last[1], s.end());
            } else {
                merged.add(new long[] {s.start(), s.end()});
            }
        }
        for (long[] r : merged) {
            for (long p = r[0]; p < r[1]; p += PIECE) {
                int len = (int) Math.min(PIECE, r[1] - p);
                pieces.add(new Piece(p, len));
                plannedBytes += len;
            }
        }
    }

    /** Pieces per request at most (the Range header stays a few KiB). */
    static final int RANGES_PER_REQUEST = 100;

    /** Where each batch of pieces starts (and, last, the piece count): up to {@link #RANGES_PER_REQUEST} pieces and {@link #PIECE} bytes. */
    private int[] batchStarts() {
        List<Integer> starts = new ArrayList<>();
        long bytes = 0;
        int count = 0;
        for (int i = 0; i < pieces.size(); i++) {
            if (i == 0 || count == RANGES_PER_REQUEST || bytes + pieces.get(i).length() > PIECE) {
                starts.add(i);
                bytes = 0;
                count = 0;
            }
            bytes += pieces.get(i).length();
            count++;
        }
        starts.add(pieces.size());
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Compressed bytes this layer transfers: the table of contents and the planned ranges. */
    public long bytesFetched() {
        return tocBytes + plannedBytes;
    }

    public int filesPresent() {
        return filesPresent;
    }

    public int filesFetched() {
        return filesFetched;
    }

    /** Requests for the ranges (the table of contents aside), where the source serves several ranges per request. */
    public int requests() {
        return pieces.isEmpty() ? 0 : batchStarts().length - 1;
    }

    private Tar tar;

    /**
     * Starts fetching the first ranges now, before the tar is read (at most {@code inFlight}
     * requests, each at most {@link #PIECE} bytes): the previous layer is still being applied
     * meanwhile, so the network wait overlaps with it.
     */
    public void prefetch() {
        ((Tar) tar()).feed.start();
    }

    /** The layer's uncompressed tar (one stream per layer; read it once, in order). */
    public InputStream tar() {
        if (tar == null) {
            tar = new Tar();
        }
        return tar;
    }

    /** Hands stored bodies to the tree builder and checks that each tar body is where the TOC puts one. */
    public KnownBodies known() {
        return (tarOffset, entry) -> tar.bodyAt(tarOffset, entry);
    }

    /** After the tar was read to its end: every body the TOC lists must have been a tar entry's. */
    public void checkComplete() throws IOException {
        if (tar.claimed != filesPresent + filesFetched) {
            throw ChunkedToc.bad(
                    what,
                    "the table of contents lists "
                            + (filesPresent + filesFetched)
                            + " file bodies, the tar has "
                            + tar.claimed
                            + " of them where it says; table and tar disagree");
        }
    }

    @Override
    public void close() {
        fetchers.shutdownNow();
    }

    /**
     * Fetches pieces in order, in batches (several ranges per request where the source allows), at
     * most {@link #inFlight} batches ahead of the reader.
     */
    private final class Feed {
        private final java.util.Map<Integer, Future<List<byte[]>>> ahead =
                new java.util.HashMap<>();
        private final byte[][] fetched = new byte[pieces.size()][];
        private final int[] batchStart = batchStarts();
        private int submitted;
        private int current = -1;
        private byte[] bytes;

        /** Starts the first {@link #inFlight} requests without waiting for them. */
        private void start() {
            while (submitted < batchStart.length - 1 && submitted < inFlight) {
                int from = batchStart[submitted];
                int to = batchStart[submitted + 1];
                ahead.put(submitted++, fetchers.submit(() -> fetch(from, to)));
            }
        }

        /** The piece holding blob offset {@code pos}, fetched; pieces before it are dropped. */
        private void seek(long pos) throws IOException {
            while (current < 0
                    || pos >= pieces.get(current).start() + pieces.get(current).length()) {
                if (current >= 0) {
                    fetched[current] = null;
                }
                current++;
                if (current >= pieces.size()) {
                    throw new IllegalStateException(
                            "blob offset " + pos + " is in no planned range");
                }
                if (fetched[current] == null) {
                    int batch = java.util.Arrays.binarySearch(batchStart, current);
                    while (submitted < batchStart.length - 1 && submitted < batch + inFlight) {
                        int from = batchStart[submitted];
                        int to = batchStart[submitted + 1];
                        ahead.put(submitted++, fetchers.submit(() -> fetch(from, to)));
                    }
                    List<byte[]> got = await(ahead.remove(batch));
                    for (int i = 0; i < got.size(); i++) {
                        fetched[current + i] = got.get(i);
                    }
                }
                bytes = fetched[current];
            }
            if (pos < pieces.get(current).start()) {
                throw new IllegalStateException("blob offset " + pos + " is in no planned range");
            }
        }

        private List<byte[]> fetch(int from, int to) throws IOException {
            List<long[]> want = new ArrayList<>();
            for (int i = from; i < to; i++) {
                want.add(new long[] {pieces.get(i).start(), pieces.get(i).length()});
            }
            List<byte[]> b = ranges.readMany(want);
            if (b == null || b.size() != want.size()) {
                throw new OciException(
                        what
                                + ": the registry stopped answering Range requests in the middle of a partial pull");
            }
            return b;
        }

        private List<byte[]> await(Future<List<byte[]>> f) throws IOException {
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + ": interrupted while fetching ranges");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                throw new OciException(
                        what + ": fetching a range failed: " + e.getCause(), e.getCause());
            }
        }

        /** The compressed bytes {@code [start, end)} of the blob as a stream. */
        InputStream open(long start, long end) {
            return new BlockInputStream() {
                private long pos = start;

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (pos >= end) {
                        return -1;
                    }
                    seek(pos);
                    Piece p = pieces.get(current);
                    int from = (int) (pos - p.start());
                    int n = (int) Math.min(len, Math.min(p.length() - from, end - pos));
                    System.arraycopy(bytes, from, b, off, n);
                    pos += n;
                    return n;
                }
            };
        }
    }

    /** The rebuilt tar: segments in blob order, each decompressed (or read from its object). */
    private final class Tar extends BlockInputStream {
        private final Feed feed = new Feed();
        private int next;
        private Segment segment;
        private InputStream in;
        private long emitted;

        /** A byte read to see whether a gap had ended when a body was expected (it had not). */
        private int pushback = -1;

        private long segmentBytes;
        private MessageDigest sha;
        private int claimed;

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (true) {
                if (pushback >= 0) {
                    b[off] = (byte) pushback;
                    pushback = -1;
                    emitted++;
                    return 1;
                }
                if (segment == null && !open()) {
                    return -1;
                }
                int n = in.read(b, off, len);
                if (n < 0) {
                    finish();
                    continue;
                }
                if (n > 0) {
                    segmentBytes += n;
                    if (sha != null) {
                        sha.update(b, off, n);
                    }
                    if (segment instanceof FileBody f && segmentBytes > f.body().size()) {
                        throw ChunkedToc.bad(
                                what,
                                "the body of "
                                        + f.body().name()
                                        + " decompresses to more than the "
                                        + f.body().size()
                                        + " bytes its TOC entry says");
                    }
                    emitted += n;
                    return n;
                }
            }
        }

        private boolean open() throws IOException {
            if (next >= segments.size()) {
                return false;
            }
            segment = segments.get(next++);
            segmentBytes = 0;
            sha = null;
            if (segment instanceof FileBody f && f.stored() != null) {
                in = Files.newInputStream(f.object());
            } else if (segment.end() > segment.start()) {
                in = new ZstdInputStreamNoFinalizer(feed.open(segment.start(), segment.end()));
                if (segment instanceof FileBody) {
                    sha = newSha256();
                }
            } else {
                in = InputStream.nullInputStream();
            }
            return true;
        }

        private void finish() throws IOException {
            in.close();
            if (segment instanceof FileBody f) {
                if (segmentBytes != f.body().size()) {
                    throw ChunkedToc.bad(
                            what,
                            (f.stored() != null ? "the stored object for " : "the body of ")
                                    + f.body().name()
                                    + " has "
                                    + segmentBytes
                                    + " bytes, its TOC entry says "
                                    + f.body().size());
                }
                if (sha != null) {
                    byte[] got = sha.digest();
                    if (!Arrays.equals(got, f.body().sha256())) {
                        throw ChunkedToc.bad(
                                what,
                                "the fetched body of "
                                        + f.body().name()
                                        + " hashes to sha256:"
                                        + HexFormat.of().formatHex(got)
                                        + ", its TOC entry says sha256:"
                                        + HexFormat.of().formatHex(f.body().sha256()));
                    }
                }
            }
            segment = null;
            in = null;
        }

        /** Called by the tree builder with the tar reader positioned at a body of {@code entry}. */
        Digest bodyAt(long tarOffset, TarEntry entry) throws IOException {
            if (tarOffset != emitted || pushback >= 0) {
                throw new IllegalStateException("tar reader and rebuilt tar out of step");
            }
            // the gap before a body ends exactly here: move on to the body's segment
            while (segment == null || segment instanceof Gap) {
                if (segment != null) {
                    int c = in.read();
                    if (c >= 0) {
                        segmentBytes++;
                        pushback = c;
                        throw disagree(
                                entry,
                                "the layer's frames go on where the tar entry's body starts");
                    }
                    finish();
                }
                if (!open()) {
                    throw disagree(entry, "the table of contents lists no more bodies");
                }
            }
            FileBody f = (FileBody) segment;
            if (f.body().size() != entry.size()) {
                throw disagree(
                        entry,
                        "its TOC entry "
                                + f.body().name()
                                + " there says "
                                + f.body().size()
                                + " bytes, the tar "
                                + entry.size());
            }
            String tarName = utf8(entry.name());
            if (tarName != null && !normalise(tarName).equals(normalise(f.body().name()))) {
                throw disagree(entry, "the TOC says the body there is " + f.body().name());
            }
            claimed++;
            return f.stored();
        }

        private OciException disagree(TarEntry entry, String problem) {
            return ChunkedToc.bad(
                    what,
                    "tar entry "
                            + entry.displayName()
                            + " (body at uncompressed offset "
                            + emitted
                            + "): "
                            + problem
                            + "; table of contents and tar disagree");
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
            }
        }
    }

    /** A name as Go's JSON encoder writes it; null when the bytes are not UTF-8 (the TOC then holds replacement characters). */
    private static String utf8(byte[] name) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(name))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Drops what does not change which entry a path names: leading {@code /} and {@code ./}, empty and {@code .} components. */
    static String normalise(String path) {
        StringBuilder sb = new StringBuilder();
        for (String c : path.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(c);
        }
        return sb.toString();
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
