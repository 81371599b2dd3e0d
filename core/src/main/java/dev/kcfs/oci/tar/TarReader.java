package dev.kcfs.oci.tar;

import dev.kcfs.image.erofs.ImageLimits;
import dev.kcfs.oci.stream.BlockInputStream;
import dev.kcfs.tree.Xattr;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A streaming, byte-exact tar reader for image layers.
 *
 * <p>Hand-written on purpose: commons-compress decodes PAX values as UTF-8 strings, which corrupts
 * binary {@code SCHILY.xattr.*} values (file capabilities, ACLs, overlay xattrs) and non-UTF-8 paths.
 * Here every name, link target and xattr is kept as the exact bytes of the archive.
 *
 * <p>Supported: ustar (with the 155-byte prefix), GNU ({@code L} long names, {@code K} long link
 * names, base-256 numbers), PAX local ({@code x}) and global ({@code g}) headers with {@code path},
 * {@code linkpath}, {@code size}, {@code uid}, {@code gid}, {@code mtime} (with fraction),
 * {@code SCHILY.xattr.NAME} (binary values) and {@code LIBARCHIVE.xattr.NAME} (base64 values); the
 * other PAX keys (atime, ctime, uname, gname, comments…) carry nothing an image keeps and are ignored.
 * Entry types: regular ({@code 0}, NUL, and contiguous {@code 7}), hardlink, symlink, char and block
 * devices, directory, fifo. Anything else (GNU sparse, multi-volume, dump-dir…) is a
 * {@link TarFormatException} naming the entry, as are bad checksums, truncated streams and absurd sizes.
 *
 * <p>Bodies are never buffered: {@link #body()} reads straight from the underlying stream, and
 * {@link #next()} skips whatever the caller did not read. The end of the archive is the first
 * all-zero header block (even cut short), or the end of the stream at a header boundary or inside
 * the padding after the last body: layers written without the end-of-archive blocks or the final
 * padding exist (umoci's, Go tools'), and GNU tar, Go and containerd accept them. A stream that ends
 * inside a header or a body, or right after an extended header, is reported as truncated; a blob
 * cut anywhere else is caught by its digest and size check instead.
 *
 * <p>Hostile archives are bounded: PAX headers and GNU long names by {@link #MAX_META_SIZE}, the
 * global PAX records in force by {@link #MAX_GLOBAL_PAX_RECORDS} and {@link #MAX_GLOBAL_PAX_BYTES},
 * extended headers in a row by {@link #MAX_EXTENDED_HEADERS}; an entry costs memory for its own
 * headers only. The limits of {@link ImageLimits} (name length, depth, xattr sizes and counts) are
 * checked as each entry is read, so the error names the entry.
 */
public final class TarReader {
    public static final int BLOCK = 512;

    /** Largest file body accepted: the composefs format limit (1024 chunks of 2^43 bytes). */
    public static final long MAX_ENTRY_SIZE = 1L << 53;

    /**
     * Largest PAX header or GNU long name accepted: above any path and xattr set an image can hold
     * (see {@link ImageLimits}), so a bigger one is hostile.
     */
    public static final int MAX_META_SIZE = 2 << 20;

    /**
     * Largest total of the global PAX records in force (keys and values). They apply to every later
     * entry, so they are kept small: real writers put a comment or a time there, if anything.
     */
    public static final int MAX_GLOBAL_PAX_BYTES = 64 << 10;

    /** Most global PAX records in force at once. */
    public static final int MAX_GLOBAL_PAX_RECORDS = 256;

    /**
     * Most records in one PAX header. An entry's xattr names fit in 64 KiB ({@link ImageLimits}), so
     * it holds at most about 9,400 xattrs; the bound is looser so that the xattr check, which says
     * more, names the problem of anything in between, while it still caps the memory of parsing.
     */
    public static final int MAX_PAX_RECORDS = 65536;

    /** Most extended headers (PAX, GNU long name/link) in a row before one entry: one of each kind is normal. */
    public static final int MAX_EXTENDED_HEADERS = 8;

    private static final byte[] SCHILY_XATTR = "SCHILY.xattr.".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LIBARCHIVE_XATTR =
            "LIBARCHIVE.xattr.".getBytes(StandardCharsets.US_ASCII);

    private final InputStream in;
    private final String source;
    private final byte[] header = new byte[BLOCK];
    private final Map<String, byte[]> globalPax = new LinkedHashMap<>();

    /** The xattrs of {@link #globalPax}, decoded once per global header rather than once per entry. */
    private List<Xattr> globalXattrs = List.of();

    private TarEntry current;
    private long remaining;
    private long padding;
    private boolean finished;
    private long offset;

    /** @param source what the stream is (a layer digest, a file), used in every error message */
    public TarReader(InputStream in, String source) {
        this.in = in;
        this.source = source;
    }

    /** Bytes consumed from the underlying stream so far (headers, bodies, padding). */
    public long offset() {
        return offset;
    }

    /** The next entry, or null after the end-of-archive block. Skips the unread rest of the previous body. */
    public TarEntry next() throws IOException {
        if (finished) {
            return null;
        }
        skipRest();
        if (finished) {
            return null;
        }
        byte[] longName = null;
        byte[] longLink = null;
        Map<String, byte[]> pax = null;
        int extended = 0;
        while (true) {
            long headerOffset = offset;
            if (!readBlock(
                    header,
                    current == null
                            ? "the first header"
                            : "the header after " + current.displayName())) {
                if (longName != null || longLink != null || pax != null) {
                    throw error(
                            "truncated: stream ended at offset "
                                    + headerOffset
                                    + " after an extended header, before its entry");
                }
                // no end-of-archive block (or nothing at all: an empty layer): real layer writers
                // omit it (umoci's Go writer does), and GNU tar, Go's archive/tar and containerd
                // all
                // accept it; a blob cut short fails its digest and size check instead
                finished = true;
                current = null;
                return null;
            }
            if (isZero(header)) {
                finished = true;
                current = null;
                return null;
            }
            verifyChecksum(headerOffset);
            byte flag = header[156];
            long size = number(124, 12, "size", headerOffset);
            if ((flag == 'x' || flag == 'g' || flag == 'L' || flag == 'K')
                    && ++extended > MAX_EXTENDED_HEADERS) {
                throw error(
                        "header at offset "
                                + headerOffset
                                + " is the "
                                + extended
                                + "th extended header in a row (limit "
                                + MAX_EXTENDED_HEADERS
                                + "): the archive is hostile or corrupt");
            }
            switch (flag) {
                case 'x':
                    pax = parsePax(readMeta(size, "PAX header", headerOffset), headerOffset);
                    continue;
                case 'g':
                    global(
                            parsePax(
                                    readMeta(size, "PAX global header", headerOffset),
                                    headerOffset),
                            headerOffset);
                    continue;
                case 'L':
                    longName = trimNul(readMeta(size, "GNU long name", headerOffset));
                    continue;
                case 'K':
                    longLink = trimNul(readMeta(size, "GNU long link name", headerOffset));
                    continue;
                default:
                    current = entry(flag, size, longName, longLink, pax, headerOffset);
                    return current;
            }
        }
    }

    /** The current entry's body (regular files); reading past its end returns -1. */
    public InputStream body() {
        return new BlockInputStream() {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (remaining == 0) {
                    return -1;
                }
                int n = in.read(b, off, (int) Math.min(len, remaining));
                if (n < 0) {
                    throw error(
                            "truncated: entry "
                                    + current.displayName()
                                    + " expects "
                                    + current.size()
                                    + " bytes, stream ended after "
                                    + (current.size() - remaining));
                }
                remaining -= n;
                offset += n;
                return n;
            }

            @Override
            public int available() {
                return 0;
            }
        };
    }

    /** Bytes of the current body not yet read. */
    public long remaining() {
        return remaining;
    }

    /**
     * Applies a global PAX header to the records in force. Bounded in records and bytes, and its
     * xattrs decoded here once: every later entry then costs only its own headers.
     */
    private void global(Map<String, byte[]> records, long headerOffset) throws TarFormatException {
        for (String key : records.keySet()) {
            if (key.startsWith("GNU.sparse.")) {
                throw error(
                        "PAX global header at offset "
                                + headerOffset
                                + " has "
                                + key
                                + " (GNU sparse files are not supported)");
            }
        }
        globalPax.putAll(records);
        long bytes = 0;
        for (Map.Entry<String, byte[]> e : globalPax.entrySet()) {
            bytes += e.getKey().length() + e.getValue().length;
        }
        if (globalPax.size() > MAX_GLOBAL_PAX_RECORDS || bytes > MAX_GLOBAL_PAX_BYTES) {
            throw error(
                    "PAX global header at offset "
                            + headerOffset
                            + " brings the global records to "
                            + globalPax.size()
                            + " records of "
                            + bytes
                            + " bytes (limit "
                            + MAX_GLOBAL_PAX_RECORDS
                            + " records, "
                            + MAX_GLOBAL_PAX_BYTES
                            + " bytes): they apply to every entry, so more is refused");
        }
        globalXattrs = xattrs(globalPax, "the PAX global header at offset " + headerOffset);
    }

    private TarEntry entry(
            byte flag,
            long headerSize,
            byte[] longName,
            byte[] longLink,
            Map<String, byte[]> localPax,
            long headerOffset)
            throws IOException {
        // local records first, then the global ones: a lookup, never a copy of the global records
        Pax pax = new Pax(localPax != null ? localPax : Map.of(), globalPax);
        // an empty PAX value removes the keyword (falls back to the header field): see nonEmpty()
        // below
        TarEntryType type =
                switch (flag) {
                    case '0', 0, '7' -> TarEntryType.REGULAR;
                    case '1' -> TarEntryType.HARDLINK;
                    case '2' -> TarEntryType.SYMLINK;
                    case '3' -> TarEntryType.CHAR_DEVICE;
                    case '4' -> TarEntryType.BLOCK_DEVICE;
                    case '5' -> TarEntryType.DIRECTORY;
                    case '6' -> TarEntryType.FIFO;
                    default -> null;
                };
        byte[] name = longName != null ? longName : headerName();
        if (type == null) {
            throw error(
                    "entry "
                            + display(name)
                            + " at offset "
                            + headerOffset
                            + " has unsupported type '"
                            + describeFlag(flag)
                            + "' (supported: regular, hardlink, symlink, char/block device, directory, fifo)");
        }
        for (String key : pax.local().keySet()) {
            if (key.startsWith("GNU.sparse.")) {
                throw error(
                        "entry "
                                + display(name)
                                + " is a GNU sparse file (PAX "
                                + key
                                + "), which is not supported");
            }
        }
        if (nonEmpty(pax.get("path"))) {
            name = pax.get("path");
        }
        byte[] link = longLink != null ? longLink : field(157, 100);
        if (nonEmpty(pax.get("linkpath"))) {
            link = pax.get("linkpath");
        }
        long size = nonEmpty(pax.get("size")) ? paxLong(pax.get("size"), "size", name) : headerSize;
        if (size < 0 || size > MAX_ENTRY_SIZE) {
            throw error(
                    "entry "
                            + display(name)
                            + " has absurd size "
                            + size
                            + " (limit "
                            + MAX_ENTRY_SIZE
                            + ")");
        }
        long uid =
                nonEmpty(pax.get("uid"))
                        ? paxLong(pax.get("uid"), "uid", name)
                        : number(108, 8, "uid", headerOffset);
        long gid =
                nonEmpty(pax.get("gid"))
                        ? paxLong(pax.get("gid"), "gid", name)
                        : number(116, 8, "gid", headerOffset);
        checkId(uid, "uid", name);
        checkId(gid, "gid", name);
        long mtimeSec;
        int mtimeNsec = 0;
        if (nonEmpty(pax.get("mtime"))) {
            long[] t = paxTime(pax.get("mtime"), name);
            mtimeSec = t[0];
            mtimeNsec = (int) t[1];
        } else {
            mtimeSec = number(136, 12, "mtime", headerOffset);
        }
        int mode = (int) (number(100, 8, "mode", headerOffset) & 07777);
        long major = 0;
        long minor = 0;
        if (type == TarEntryType.CHAR_DEVICE || type == TarEntryType.BLOCK_DEVICE) {
            major = number(329, 8, "devmajor", headerOffset);
            minor = number(337, 8, "devminor", headerOffset);
            if (major > 0xFFF || minor > 0xFFFFF) {
                // the kernel's dev_t: 12 bits of major, 20 of minor (the image keeps rdev in 32
                // bits)
                throw error(
                        "entry "
                                + display(name)
                                + " has device "
                                + major
                                + ":"
                                + minor
                                + ", outside the kernel's 0..4095:0..1048575");
            }
        }
        List<Xattr> xattrs;
        if (pax.local().isEmpty()) {
            xattrs = globalXattrs;
        } else {
            List<Xattr> local = xattrs(pax.local(), "entry " + display(name));
            if (globalXattrs.isEmpty()) {
                xattrs = local;
            } else {
                xattrs = new ArrayList<>(globalXattrs);
                xattrs.addAll(local); // later records win: the entry's own after the global ones
            }
        }
        checkLimits(type, name, link, xattrs);
        // Only regular files carry bodies we hand out; any other body (allowed by PAX for
        // hardlinks) is skipped.
        remaining = size;
        padding = (BLOCK - size % BLOCK) % BLOCK;
        if (name.length == 0) {
            throw error("entry at offset " + headerOffset + " has an empty name");
        }
        return new TarEntry(
                type,
                name,
                type == TarEntryType.HARDLINK || type == TarEntryType.SYMLINK ? link : new byte[0],
                mode,
                uid,
                gid,
                type == TarEntryType.REGULAR ? size : 0,
                mtimeSec,
                mtimeNsec,
                major,
                minor,
                xattrs);
    }

    /**
     * The kernel's and the image format's limits, checked here so the error names this entry (and
     * the import stops before spending work on an image that cannot be written).
     */
    private void checkLimits(TarEntryType type, byte[] name, byte[] link, List<Xattr> xattrs)
            throws TarFormatException {
        String problem = checkPath(name);
        if (problem == null && type == TarEntryType.SYMLINK) {
            problem = ImageLimits.checkSymlinkTarget(link);
        }
        if (problem == null && type == TarEntryType.HARDLINK) {
            problem = checkPath(link);
            if (problem != null) {
                problem = "is a hardlink whose target " + problem;
            }
        }
        if (problem == null) {
            problem = ImageLimits.checkXattrs(xattrs);
        }
        if (problem != null) {
            throw error("entry " + display(name) + " " + problem);
        }
    }

    /** Component lengths, NULs and depth of a path as the tree builder will split it. */
    private static String checkPath(byte[] path) {
        int components = 0;
        int start = 0;
        for (int i = 0; i <= path.length; i++) {
            if (i == path.length || path[i] == '/') {
                int len = i - start;
                if (len > 0 && !(len == 1 && path[start] == '.')) {
                    components++;
                    String problem = ImageLimits.checkName(Arrays.copyOfRange(path, start, i));
                    if (problem != null) {
                        return problem;
                    }
                }
                start = i + 1;
            }
        }
        return ImageLimits.checkDepth(components);
    }

    /** The {@code SCHILY.xattr.*} and {@code LIBARCHIVE.xattr.*} records of {@code records}, in order. */
    private List<Xattr> xattrs(Map<String, byte[]> records, String where)
            throws TarFormatException {
        List<Xattr> xattrs = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : records.entrySet()) {
            byte[] key = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
            if (startsWith(key, SCHILY_XATTR)) {
                xattrs.add(
                        new Xattr(
                                Arrays.copyOfRange(key, SCHILY_XATTR.length, key.length),
                                e.getValue()));
            } else if (startsWith(key, LIBARCHIVE_XATTR)) {
                // libarchive: name is URL-encoded, value base64
                byte[] xname =
                        urlDecode(Arrays.copyOfRange(key, LIBARCHIVE_XATTR.length, key.length));
                byte[] value;
                try {
                    value = Base64.getDecoder().decode(e.getValue());
                } catch (IllegalArgumentException ex) {
                    throw error(where + " has a LIBARCHIVE.xattr value that is not base64");
                }
                xattrs.add(new Xattr(xname, value));
            }
        }
        return xattrs;
    }

    /** The PAX records of one entry: its own, falling back to the global ones. */
    private record Pax(Map<String, byte[]> local, Map<String, byte[]> global) {
        byte[] get(String key) {
            byte[] v = local.get(key);
            return v != null ? v : global.get(key);
        }
    }

    private static boolean nonEmpty(byte[] v) {
        return v != null && v.length > 0;
    }

    private void checkId(long id, String what, byte[] name) throws TarFormatException {
        if (id < 0 || id > 0xffffffffL) {
            throw error(
                    "entry "
                            + display(name)
                            + " has "
                            + what
                            + " "
                            + id
                            + ", outside 0..4294967295");
        }
    }

    private byte[] headerName() {
        byte[] name = field(0, 100);
        boolean ustar =
                header[257] == 'u'
                        && header[258] == 's'
                        && header[259] == 't'
                        && header[260] == 'a'
                        && header[261] == 'r'
                        && header[262] == 0;
        if (ustar) {
            byte[] prefix = field(345, 155);
            if (prefix.length > 0) {
                byte[] joined = new byte[prefix.length + 1 + name.length];
                System.arraycopy(prefix, 0, joined, 0, prefix.length);
                joined[prefix.length] = '/';
                System.arraycopy(name, 0, joined, prefix.length + 1, name.length);
                return joined;
            }
        }
        return name;
    }

    private byte[] field(int off, int len) {
        int end = off;
        while (end < off + len && header[end] != 0) {
            end++;
        }
        return Arrays.copyOfRange(header, off, end);
    }

    /** Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
    private long number(int off, int len, String what, long headerOffset)
            throws TarFormatException {
        if ((header[off] & 0x80) != 0) {
            boolean negative = (header[off] & 0x40) != 0;
            long v = negative ? -1 : 0;
            for (int i = 0; i < len; i++) {
                int b = header[off + i] & 0xff;
                if (i == 0) {
                    b &= 0x7f;
                    if (negative) {
                        b |= 0x80;
                    }
                }
                if (i < len - 8 && b != (negative ? 0xff : 0)) {
                    throw error(
                            "header at offset "
                                    + headerOffset
                                    + ": base-256 "
                                    + what
                                    + " does not fit 64 bits");
                }
                v = (v << 8) | b;
            }
            return v;
        }
        int i = off;
        int end = off + len;
        while (i < end && (header[i] == ' ' || header[i] == 0)) {
            i++;
        }
        long v = 0;
        boolean any = false;
        for (; i < end; i++) {
            byte b = header[i];
            if (b == ' ' || b == 0) {
                break;
            }
            if (b < '0' || b > '7') {
                throw error(
                        "header at offset "
                                + headerOffset
                                + ": "
                                + what
                                + " field is not octal: '"
                                + new String(header, off, len, StandardCharsets.ISO_8859_1).trim()
                                + "'");
            }
            if (v > (Long.MAX_VALUE >> 3)) {
                throw error("header at offset " + headerOffset + ": " + what + " field overflows");
            }
            v = (v << 3) | (b - '0');
            any = true;
        }
        return any ? v : 0;
    }

    private void verifyChecksum(long headerOffset) throws TarFormatException {
        long stored;
        try {
            stored = number(148, 8, "checksum", headerOffset);
        } catch (TarFormatException e) {
            throw error(
                    "bad header checksum field at offset "
                            + headerOffset
                            + ": the archive is corrupt or not a tar stream");
        }
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = (i >= 148 && i < 156) ? ' ' : header[i];
            unsigned += b & 0xff;
            signed += (i >= 148 && i < 156) ? ' ' : header[i];
        }
        // some historic writers summed signed bytes; accept either, like GNU tar
        if (stored != unsigned && stored != signed) {
            throw error(
                    "bad header checksum at offset "
                            + headerOffset
                            + " (stored "
                            + stored
                            + ", computed "
                            + unsigned
                            + "): the archive is corrupt or not a tar stream");
        }
    }

    private byte[] readMeta(long size, String what, long headerOffset) throws IOException {
        if (size < 0 || size > MAX_META_SIZE) {
            throw error(
                    what
                            + " at offset "
                            + headerOffset
                            + " has absurd size "
                            + size
                            + " (limit "
                            + MAX_META_SIZE
                            + ")");
        }
        byte[] data = new byte[(int) size];
        int got = readFully(data, 0, data.length);
        if (got < data.length) {
            throw error(
                    "truncated: "
                            + what
                            + " at offset "
                            + headerOffset
                            + " expects "
                            + size
                            + " bytes, got "
                            + got);
        }
        skipBytes((BLOCK - size % BLOCK) % BLOCK, what);
        return data;
    }

    /** PAX records: "LEN KEY=VALUE\n", LEN counting the whole record in bytes; values are raw bytes. */
    private Map<String, byte[]> parsePax(byte[] data, long headerOffset) throws TarFormatException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        int pos = 0;
        while (pos < data.length) {
            if (data[pos] == 0) {
                break; // some writers pad with NULs
            }
            int sp = pos;
            long len = 0;
            while (sp < data.length
                    && data[sp] >= '0'
                    && data[sp] <= '9'
                    && len < Integer.MAX_VALUE) {
                len = len * 10 + (data[sp] - '0');
                sp++;
            }
            if (sp == pos
                    || sp >= data.length
                    || data[sp] != ' '
                    || len <= sp - pos + 1
                    || pos + len > data.length
                    || data[(int) (pos + len - 1)] != '\n') {
                throw error(
                        "malformed PAX record at byte "
                                + pos
                                + " of the PAX header at offset "
                                + headerOffset);
            }
            int recordEnd = (int) (pos + len - 1);
            int eq = sp + 1;
            while (eq < recordEnd && data[eq] != '=') {
                eq++;
            }
            if (eq >= recordEnd) {
                throw error(
                        "PAX record without '=' at byte "
                                + pos
                                + " of the PAX header at offset "
                                + headerOffset);
            }
            // keys are UTF-8 by the standard, but an xattr name inside one can be any bytes: keep
            // them 1:1
            if (out.size() >= MAX_PAX_RECORDS) {
                throw error(
                        "PAX header at offset "
                                + headerOffset
                                + " has more than "
                                + MAX_PAX_RECORDS
                                + " records: more than any entry an image can hold");
            }
            String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.ISO_8859_1);
            out.put(key, Arrays.copyOfRange(data, eq + 1, recordEnd));
            pos = recordEnd + 1;
        }
        return out;
    }

    private long paxLong(byte[] v, String key, byte[] name) throws TarFormatException {
        String s = new String(v, StandardCharsets.ISO_8859_1);
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw error(
                    "entry "
                            + display(name)
                            + " has a PAX "
                            + key
                            + " that is not a number: '"
                            + s
                            + "'");
        }
    }

    /** "SEC[.FRACTION]", SEC possibly negative; returns {sec, nsec} with 0 <= nsec < 1e9 (floor semantics). */
    private long[] paxTime(byte[] v, byte[] name) throws TarFormatException {
        String s = new String(v, StandardCharsets.ISO_8859_1);
        int dot = s.indexOf('.');
        String whole = dot < 0 ? s : s.substring(0, dot);
        String frac = dot < 0 ? "" : s.substring(dot + 1);
        try {
            boolean negative = whole.startsWith("-");
            long sec = Long.parseLong(whole.isEmpty() || whole.equals("-") ? whole + "0" : whole);
            if (!frac.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new NumberFormatException();
            }
            String nine =
                    (frac + "000000000").substring(0, 9); // digits beyond nanoseconds are dropped
            long nsec = Long.parseLong(nine);
            if (negative && nsec > 0) {
                sec -= 1;
                nsec = 1_000_000_000L - nsec;
            }
            return new long[] {sec, nsec};
        } catch (NumberFormatException e) {
            throw error(
                    "entry " + display(name) + " has a PAX mtime that is not a time: '" + s + "'");
        }
    }

    private void skipRest() throws IOException {
        if (current != null) {
            skipBytes(remaining, "body of " + current.displayName());
            remaining = 0;
            // the padding after the last body may be missing too (same writers, same reasoning)
            while (padding > 0) {
                int r = in.read(skipBuffer, 0, (int) Math.min(padding, skipBuffer.length));
                if (r < 0) {
                    finished = true;
                    current = null;
                    break;
                }
                padding -= r;
                offset += r;
            }
            padding = 0;
        }
    }

    private final byte[] skipBuffer = new byte[64 * 1024];

    private void skipBytes(long n, String what) throws IOException {
        while (n > 0) {
            int r = in.read(skipBuffer, 0, (int) Math.min(n, skipBuffer.length));
            if (r < 0) {
                throw error(
                        "truncated: stream ended inside the "
                                + what
                                + " ("
                                + n
                                + " bytes missing)");
            }
            n -= r;
            offset += r;
        }
    }

    private boolean readBlock(byte[] block, String what) throws IOException {
        int got = readFully(block, 0, BLOCK);
        if (got == 0) {
            return false;
        }
        if (got < BLOCK) {
            if (isZero(block, got)) {
                return false; // the start of an end-of-archive block, cut short: still the end
            }
            throw error("truncated: stream ended inside " + what + " (" + got + " of 512 bytes)");
        }
        return true;
    }

    private int readFully(byte[] b, int off, int len) throws IOException {
        int total = 0;
        while (total < len) {
            int r = in.read(b, off + total, len - total);
            if (r < 0) {
                break;
            }
            total += r;
            offset += r;
        }
        return total;
    }

    private static int indexOf(byte[] b, byte v) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isZero(byte[] block) {
        return isZero(block, block.length);
    }

    private static boolean isZero(byte[] block, int length) {
        for (int i = 0; i < length; i++) {
            if (block[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] trimNul(byte[] b) {
        int end = 0;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return end == b.length ? b : Arrays.copyOf(b, end);
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        return b.length >= prefix.length
                && Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static byte[] urlDecode(byte[] b) {
        byte[] out = new byte[b.length];
        int n = 0;
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '%'
                    && i + 2 < b.length
                    && Character.digit(b[i + 1], 16) >= 0
                    && Character.digit(b[i + 2], 16) >= 0) {
                out[n++] =
                        (byte) (Character.digit(b[i + 1], 16) * 16 + Character.digit(b[i + 2], 16));
                i += 2;
            } else {
                out[n++] = b[i];
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static String describeFlag(byte flag) {
        return flag >= 0x20 && flag < 0x7f
                ? String.valueOf((char) flag)
                : String.format("\\x%02x", flag & 0xff);
    }

    private static String display(byte[] name) {
        return new String(name, StandardCharsets.ISO_8859_1);
    }

    private TarFormatException error(String message) {
        return new TarFormatException(source + ": " + message);
    }
}
