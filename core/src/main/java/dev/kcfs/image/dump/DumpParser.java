package dev.kcfs.image.dump;

import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Fifo;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Socket;
import dev.kcfs.tree.Stat;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import dev.kcfs.verity.Digest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a composefs dump (composefs-dump(5); docs/format.md, 'The dump format') into a tree, with the rules of
 * upstream {@code mkcomposefs --from-file} 1.0.8.
 *
 * <p>Strict mode (the default for callers; upstream's {@code CFS_PARSE_STRICT}) additionally rejects
 * a non-zero RDEV on non-devices, a symlink SIZE different from its target length, symlinks with
 * CONTENT and a last line without {@code \n}. Lenient mode accepts those like upstream without the
 * switch. Both modes reject malformed digests (upstream's lenient digest parsing is a bug, not copied).
 *
 * <p>The parser works on raw bytes (no regex, no per-field strings) and finds parents through a
 * cursor over the current directory path, since dumps are written depth-first; a path that leaves
 * the cursor falls back to lookups in the sorted child maps. Hardlinks ({@code @MODE}) are
 * resolved after the whole input is read, so forward references work.
 *
 * <p>Errors are {@link DumpFormatException}s naming the line and the problem.
 */
public final class DumpParser {
    /** Upstream limits (docs/format.md, 'The dump format'). */
    public static final int MAX_NAME = 255;

    public static final int MAX_INLINE_CONTENT = 5000;
    public static final int MAX_XATTR_NAME = 255;
    public static final int MAX_XATTR_VALUE = 65535;
    public static final int MAX_XATTR_PART = 65535;
    public static final int MAX_XATTR_BUDGET = 32767;
    public static final int MAX_PATH_PAYLOAD = 4095;

    private static final int READ_CHUNK = 1 << 20;

    /**
     * No valid line comes near this (fields are bounded: 64 KiB of xattrs, 5000 bytes of content,
     * 4 KiB payloads, each at most 4x when escaped); it stops a newline-less input from eating memory.
     */
    static final int MAX_LINE = 16 << 20;

    private static final int FIELDS = 11;
    private static final List<Xattr> NO_XATTRS = List.of();

    private final boolean strict;
    private long lineNo;
    private Directory root;

    // cursor: dirs[0] = root, names[i] = name of dirs[i] inside dirs[i - 1]
    private Directory[] dirs = new Directory[64];
    private byte[][] names = new byte[64][];
    private int depth;

    // per-line scratch
    private final int[] fs = new int[FIELDS];

    /** The mtime of the line being read (set by parseMtime). */
    private long mtimeSec;

    private long mtimeNsec;
    private final int[] fe = new int[FIELDS];
    private byte[] scratch = new byte[4096];
    private int[] compStart = new int[64];
    private int[] compEnd = new int[64];
    private final ArrayList<Xattr> xattrs = new ArrayList<>();

    private final List<PendingLink> links = new ArrayList<>();

    // Real trees repeat a few stats and xattr sets (one mtime, a handful of selinux labels) across
    // 100k entries: sharing the immutable objects saves ~20% of the tree's memory. Bounded, so
    // trees where everything differs do not pay for a large table.
    private static final int INTERN_LIMIT = 4096;
    private final Map<Stat, Stat> stats = new HashMap<>();
    private Stat lastStat; // consecutive lines often share one
    private final Map<List<Xattr>, List<Xattr>> xattrLists = new HashMap<>();
    private final Map<Directory, TreeMap<byte[], PendingLink>> pending = new IdentityHashMap<>();

    private DumpParser(boolean strict) {
        this.strict = strict;
    }

    /**
     * Parses a dump. The stream is read to its end but not closed; wrap compressed input (e.g. in a
     * {@link java.util.zip.GZIPInputStream}) before calling.
     *
     * @param in     the dump text
     * @param strict true for upstream's {@code CFS_PARSE_STRICT} rules (recommended), false for lenient
     * @return the root directory; hardlinks are the same {@link Inode} object under several names
     * @throws DumpFormatException on malformed input (with line number); IOException from the stream
     */
    public static Directory parse(InputStream in, boolean strict) throws IOException {
        return new DumpParser(strict).run(in);
    }

    /** Parses a dump held in memory; see {@link #parse(InputStream, boolean)}. */
    public static Directory parse(byte[] dump, boolean strict) throws DumpFormatException {
        try {
            return parse(new ByteArrayInputStream(dump), strict);
        } catch (DumpFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("in-memory stream failed", e);
        }
    }

    private Directory run(InputStream in) throws IOException {
        byte[] buf = new byte[READ_CHUNK];
        int start = 0;
        int end = 0;
        int scan = 0;
        boolean eof = false;
        while (true) {
            int nl = -1;
            for (int i = scan; i < end; i++) {
                byte b = buf[i];
                if (b == '\n') {
                    nl = i;
                    break;
                }
                if (b == 0) {
                    throw error(lineNo + 1, "Embedded NUL byte");
                }
            }
            if (nl >= 0) {
                lineNo++;
                line(buf, start, nl);
                start = nl + 1;
                scan = start;
                continue;
            }
            scan = end;
            if (eof) {
                if (start < end) {
                    lineNo++;
                    if (strict) {
                        throw error(lineNo, "Missing trailing newline");
                    }
                    line(buf, start, end);
                }
                break;
            }
            // keep the partial line: move it to the front, grow if it fills the buffer
            if (start > 0) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                scan -= start;
                start = 0;
            }
            if (end == buf.length) {
                if (buf.length >= MAX_LINE) {
                    throw error(
                            lineNo + 1,
                            "Line longer than " + MAX_LINE + " bytes (no newline found)");
                }
                buf = Arrays.copyOf(buf, buf.length * 2);
            }
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) {
                eof = true;
            } else {
                end += n;
            }
        }
        if (root == null) {
            throw error(0, "Root node not present (empty dump)");
        }
        resolveLinks();
        return root;
    }

    private static DumpFormatException error(long line, String reason) {
        return new DumpFormatException(line, reason);
    }

    private DumpFormatException error(String reason) {
        return new DumpFormatException(lineNo, reason);
    }

    // ---------------------------------------------------------------------------------------
    // one line

    /**
     * One dump line, in steps: split the fields, read the numbers, split and check the path, read
     * payload, content, digest and xattrs, then either note a hard link or add the inode.
     */
    private void line(byte[] b, int start, int end) throws DumpFormatException {
        int xattrStart = splitFields(b, start, end); // -1 if the line ended within the fixed fields

        // PATH
        int pathLen = decodeInto(b, fs[0], fe[0], "path");
        if (pathLen == 0) {
            throw error("Empty path");
        }
        long size = parseUnsigned(b, fs[1], fe[1], "size");
        boolean hardlink = fs[2] >= 0 && fe[2] > fs[2] && b[fs[2]] == '@';
        long modeL = parseOctal(b, hardlink ? fs[2] + 1 : fs[2], fe[2]);
        int mode = (int) modeL;
        long nlink = parseUnsigned(b, fs[3], fe[3], "nlink");
        long uid = parseUnsigned(b, fs[4], fe[4], "uid");
        long gid = parseUnsigned(b, fs[5], fe[5], "gid");
        long rdev = parseUnsigned(b, fs[6], fe[6], "rdev");
        // the image keeps these in 32 bits: a wider value would be cut (a uid of 4294967296 would
        // become 0, root)
        checkU32(nlink, "nlink");
        checkU32(uid, "uid");
        checkU32(gid, "gid");
        checkU32(rdev, "rdev");
        parseMtime(b, fs[7], fe[7]);
        FileType type = FileType.of(mode);
        if (type == null || (modeL >>> 32) != 0) {
            throw error("Invalid mode 0" + Long.toOctalString(modeL));
        }

        // PATH: split into components (runs of '/' collapse, last component must be a real name)
        byte[] path = scratch;
        if (path[0] != '/') {
            throw error("Path must be absolute: '" + printable(path, 0, pathLen) + "'");
        }
        boolean isRoot = pathLen == 1;
        if (root == null && !isRoot) {
            throw error("Root node not present: the first line must be '/'");
        }
        if (isRoot) {
            if (root != null) {
                throw error("Duplicate root entry '/'");
            }
            if (hardlink || type != FileType.DIRECTORY) {
                throw error("Root '/' must be a directory");
            }
        }
        int ncomp = isRoot ? 0 : splitPath(path, pathLen);
        // from here on 'scratch' is reused for other fields: copy out what we need of the path
        Directory parent = null;
        byte[] name = null;
        if (!isRoot) {
            parent = findParent(path, ncomp);
            int ns = compStart[ncomp - 1];
            name = Arrays.copyOfRange(path, ns, compEnd[ncomp - 1]);
            if (parent.child(name) != null || pendingLink(parent, name) != null) {
                throw error("Duplicate entry '" + printable(path, 0, pathLen) + "'");
            }
        }

        // PAYLOAD, CONTENT, DIGEST
        byte[] payload = optionalField(b, fs[8], fe[8], "payload");
        if (payload != null && payload.length > MAX_PATH_PAYLOAD) {
            throw error(
                    (type == FileType.SYMLINK && !hardlink ? "Symlink target" : "Payload")
                            + " too long ("
                            + payload.length
                            + " bytes, maximum "
                            + MAX_PATH_PAYLOAD
                            + ")");
        }
        byte[] content = optionalField(b, fs[9], fe[9], "content");
        if (content != null && content.length == 0) {
            content = null;
        }
        Digest digest = parseDigest(b, fs[10], fe[10]);

        // XATTRS
        List<Xattr> xs = parseXattrs(b, xattrStart, end);

        if (hardlink) {
            if (payload == null) {
                throw error("Hardlink without target path in PAYLOAD");
            }
            PendingLink l = new PendingLink(parent, name, payload, lineNo);
            links.add(l);
            pending.computeIfAbsent(parent, k -> new TreeMap<>(Arrays::compareUnsigned))
                    .put(name, l);
            return;
        }

        boolean device = type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE;
        if (strict && !device && rdev != 0) {
            throw error("Non-zero rdev " + rdev + " on a non-device entry");
        }
        Stat stat = lastStat;
        if (stat == null
                || stat.mode() != mode
                || stat.uid() != uid
                || stat.gid() != gid
                || stat.nlink() != nlink
                || stat.mtimeSec() != mtimeSec
                || stat.mtimeNsec() != (int) mtimeNsec) {
            stat = intern(stats, new Stat(mode, uid, gid, nlink, mtimeSec, (int) mtimeNsec));
            lastStat = stat;
        }
        if (type == FileType.DIRECTORY) {
            Directory d = new Directory(stat, xs);
            if (isRoot) {
                root = d;
                dirs[0] = d;
                depth = 1;
                return;
            }
            parent.put(name, d);
            // the next lines are most likely this directory's children: move the cursor here
            push(d, name);
            return;
        }
        parent.put(name, nonDirectory(type, stat, xs, size, payload, content, digest, rdev));
    }

    /** The inode of a non-directory line, with the checks its type has. */
    private Inode nonDirectory(
            FileType type,
            Stat stat,
            List<Xattr> xs,
            long size,
            byte[] payload,
            byte[] content,
            Digest digest,
            long rdev)
            throws DumpFormatException {
        Inode inode;
        switch (type) {
            case REGULAR:
                if (content != null) {
                    if (content.length > MAX_INLINE_CONTENT) {
                        throw error(
                                "Inline content size "
                                        + content.length
                                        + " exceeds maximum "
                                        + MAX_INLINE_CONTENT);
                    }
                    if (content.length != size) {
                        throw error(
                                "Inline content size "
                                        + content.length
                                        + " does not match SIZE "
                                        + Long.toUnsignedString(size));
                    }
                    inode = new RegularFile(stat, xs, size, null, content, null);
                } else if (size != 0) {
                    inode = new RegularFile(stat, xs, size, payload, null, digest);
                } else {
                    inode = new RegularFile(stat, xs, 0, null, null, null);
                }
                break;
            case SYMLINK:
                if (payload == null) {
                    throw error("Symlink without target (empty PAYLOAD)");
                }
                if (strict && size != payload.length) {
                    throw error(
                            "Symlink SIZE "
                                    + Long.toUnsignedString(size)
                                    + " does not match target length "
                                    + payload.length);
                }
                if (strict && content != null) {
                    throw error("Symlink with CONTENT");
                }
                inode = new Symlink(stat, xs, payload);
                break;
            case CHAR_DEVICE:
            case BLOCK_DEVICE:
                inode = new DeviceNode(stat, xs, rdev);
                break;
            case FIFO:
                inode = new Fifo(stat, xs);
                break;
            case SOCKET:
                inode = new Socket(stat, xs);
                break;
            default:
                throw error("Invalid mode 0" + Integer.toOctalString(stat.mode()));
        }
        return inode;
    }

    /**
     * Splits the 11 fixed fields into {@code fs}/{@code fe} (missing ones get start -1); returns where
     * the xattrs start, or -1 if the line ended within the fixed fields.
     */
    private int splitFields(byte[] b, int start, int end) {
        int p = start;
        int n = 0;
        while (n < FIELDS) {
            int q = p;
            while (q < end && b[q] != ' ') {
                q++;
            }
            fs[n] = p;
            fe[n] = q;
            n++;
            if (q >= end) {
                p = -1;
                break;
            }
            p = q + 1;
        }
        for (int i = n; i < FIELDS; i++) {
            fs[i] = -1;
            fe[i] = -1;
        }
        return p;
    }

    /** SECONDS.NANOSECONDS (two integers, not a fraction) into {@code mtimeSec}/{@code mtimeNsec}. */
    private void parseMtime(byte[] b, int s, int e) throws DumpFormatException {
        int dot = -1;
        if (s >= 0) {
            for (int i = s; i < e; i++) {
                if (b[i] == '.') {
                    dot = i;
                    break;
                }
            }
        }
        if (dot < 0) {
            throw error("Invalid mtime '" + field(b, s, e) + "': expected SECONDS.NANOSECONDS");
        }
        mtimeSec = parseSigned(b, s, dot, "mtime");
        mtimeNsec = parseUnsigned(b, dot + 1, e, "mtime nanoseconds");
        if (mtimeNsec > 0xffffffffL) {
            throw error("Invalid mtime nanoseconds " + mtimeNsec);
        }
    }

    /**
     * Splits a non-root path into components ({@code compStart}/{@code compEnd}; runs of '/'
     * collapse) and checks the last is a real name; returns how many there are.
     */
    private int splitPath(byte[] path, int pathLen) throws DumpFormatException {
        if (path[pathLen - 1] == '/') {
            throw error("Empty file name in path '" + printable(path, 0, pathLen) + "'");
        }
        int ncomp = 0;
        int i = 0;
        while (i < pathLen) {
            while (i < pathLen && path[i] == '/') {
                i++;
            }
            int s = i;
            while (i < pathLen && path[i] != '/') {
                i++;
            }
            if (i > s) {
                if (ncomp == compStart.length) {
                    compStart = Arrays.copyOf(compStart, ncomp * 2);
                    compEnd = Arrays.copyOf(compEnd, ncomp * 2);
                }
                compStart[ncomp] = s;
                compEnd[ncomp] = i;
                ncomp++;
            }
        }
        int ns = compStart[ncomp - 1];
        int nl = compEnd[ncomp - 1] - ns;
        if (nl > MAX_NAME) {
            throw error("File name too long (" + nl + " bytes, maximum " + MAX_NAME + ")");
        }
        if (path[ns] == '.' && (nl == 1 || (nl == 2 && path[ns + 1] == '.'))) {
            throw error("Invalid file name '" + printable(path, ns, ns + nl) + "'");
        }
        return ncomp;
    }

    private void push(Directory d, byte[] name) {
        if (depth == dirs.length) {
            dirs = Arrays.copyOf(dirs, depth * 2);
            names = Arrays.copyOf(names, depth * 2);
        }
        dirs[depth] = d;
        names[depth] = name;
        depth++;
    }

    /** The directory holding components [0, ncomp-1) of the path, via the cursor. */
    private Directory findParent(byte[] path, int ncomp) throws DumpFormatException {
        int want = ncomp - 1; // parent directory depth below root
        int match = 0;
        int limit = Math.min(want, depth - 1);
        while (match < limit) {
            byte[] n = names[match + 1];
            int s = compStart[match];
            int e = compEnd[match];
            if (!Arrays.equals(n, 0, n.length, path, s, e)) {
                break;
            }
            match++;
        }
        depth = match + 1;
        Directory d = dirs[match];
        for (int i = match; i < want; i++) {
            byte[] n = Arrays.copyOfRange(path, compStart[i], compEnd[i]);
            Inode c = d.child(n);
            if (!(c instanceof Directory)) {
                String dirPath = printable(path, 0, compEnd[i]);
                throw error(
                        c == null && pendingLink(d, n) == null
                                ? "Parent directory '"
                                        + dirPath
                                        + "' not present (parents must come before their children)"
                                : "Parent '" + dirPath + "' is not a directory");
            }
            d = (Directory) c;
            push(d, n);
        }
        return d;
    }

    private PendingLink pendingLink(Directory parent, byte[] name) {
        if (pending.isEmpty()) {
            return null;
        }
        TreeMap<byte[], PendingLink> m = pending.get(parent);
        return m == null ? null : m.get(name);
    }

    // ---------------------------------------------------------------------------------------
    // fields

    /** Decodes an escaped field into {@code scratch} at offset 0; returns its length. */
    private int decodeInto(byte[] b, int s, int e, String what) throws DumpFormatException {
        if (s < 0) {
            return 0;
        }
        int len = e - s;
        if (scratch.length < len) {
            scratch = new byte[Math.max(len, scratch.length * 2)];
        }
        int n = DumpEscaping.decode(b, s, e, scratch);
        if (n < 0) {
            throw error("Unsupported escape type in " + what + " '" + field(b, s, e) + "'");
        }
        return n;
    }

    /** An optional escaped field: null for missing, empty or {@code -}. */
    private byte[] optionalField(byte[] b, int s, int e, String what) throws DumpFormatException {
        if (s < 0 || e == s || (e - s == 1 && b[s] == '-')) {
            return null;
        }
        int n = decodeInto(b, s, e, what);
        return Arrays.copyOf(scratch, n);
    }

    private Digest parseDigest(byte[] b, int s, int e) throws DumpFormatException {
        if (s < 0 || e == s || (e - s == 1 && b[s] == '-')) {
            return null;
        }
        if (e - s != 2 * Digest.LENGTH) {
            throw error("Invalid digest '" + field(b, s, e) + "': expected 64 hex digits or '-'");
        }
        byte[] d = new byte[Digest.LENGTH];
        for (int i = 0; i < Digest.LENGTH; i++) {
            int hi = hexValue(b[s + 2 * i]);
            int lo = hexValue(b[s + 2 * i + 1]);
            if (hi < 0 || lo < 0) {
                throw error(
                        "Invalid digest '" + field(b, s, e) + "': expected 64 hex digits or '-'");
            }
            d[i] = (byte) (hi << 4 | lo);
        }
        return new Digest(d);
    }

    private static int hexValue(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private long parseUnsigned(byte[] b, int s, int e, String what) throws DumpFormatException {
        if (s < 0 || s == e) {
            throw error("Invalid integer for " + what + ": missing");
        }
        long v = 0;
        for (int i = s; i < e; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                throw error("Invalid integer for " + what + ": '" + field(b, s, e) + "'");
            }
            // unsigned 64-bit overflow check
            if (Long.compareUnsigned(v, 0x1999999999999999L) > 0
                    || (v == 0x1999999999999999L && d > 5)) {
                throw error(
                        "Invalid integer for "
                                + what
                                + ": '"
                                + field(b, s, e)
                                + "' is out of range");
            }
            v = v * 10 + d;
        }
        return v;
    }

    private void checkU32(long v, String what) throws DumpFormatException {
        if (Long.compareUnsigned(v, 0xFFFFFFFFL) > 0) {
            throw error(
                    "Invalid "
                            + what
                            + " "
                            + Long.toUnsignedString(v)
                            + ": out of range 0..4294967295");
        }
    }

    private long parseSigned(byte[] b, int s, int e, String what) throws DumpFormatException {
        boolean neg = s < e && b[s] == '-';
        long v = parseUnsigned(b, neg ? s + 1 : s, e, what);
        if (v < 0) {
            throw error(
                    "Invalid integer for " + what + ": '" + field(b, s, e) + "' is out of range");
        }
        return neg ? -v : v;
    }

    private long parseOctal(byte[] b, int s, int e) throws DumpFormatException {
        if (s < 0 || s >= e) {
            throw error("Invalid integer for mode: missing");
        }
        long v = 0;
        for (int i = s; i < e; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 7) {
                throw error("Invalid integer for mode: '" + field(b, s, e) + "' is not octal");
            }
            if ((v >>> 60) != 0) {
                throw error("Invalid integer for mode: '" + field(b, s, e) + "' is out of range");
            }
            v = v << 3 | d;
        }
        return v;
    }

    private List<Xattr> parseXattrs(byte[] b, int p, int end) throws DumpFormatException {
        if (p < 0) {
            return NO_XATTRS;
        }
        if (end - p > MAX_XATTR_PART) {
            throw error(
                    "Too many xattrs ("
                            + (end - p)
                            + " bytes of xattrs, maximum "
                            + MAX_XATTR_PART
                            + ")");
        }
        ArrayList<Xattr> xs = xattrs;
        xs.clear();
        int budget = 12;
        while (true) {
            int q = p;
            int eq = -1;
            while (q < end && b[q] != ' ') {
                if (eq < 0 && b[q] == '=') {
                    eq = q;
                }
                q++;
            }
            if (eq < 0) {
                throw error("Missing = in xattr '" + field(b, p, q) + "'");
            }
            int kn = decodeInto(b, p, eq, "xattr name");
            if (kn == 0) {
                throw error("Empty xattr name in '" + field(b, p, q) + "'");
            }
            if (kn > MAX_XATTR_NAME) {
                throw error(
                        "Xattr name too long (" + kn + " bytes, maximum " + MAX_XATTR_NAME + ")");
            }
            byte[] key = Arrays.copyOf(scratch, kn);
            int vn = decodeInto(b, eq + 1, q, "xattr value");
            if (vn > MAX_XATTR_VALUE) {
                throw error(
                        "Xattr value too long (" + vn + " bytes, maximum " + MAX_XATTR_VALUE + ")");
            }
            byte[] value = Arrays.copyOf(scratch, vn);
            Xattr x = new Xattr(key, value);
            int replaced = -1;
            for (int i = 0; i < xs.size(); i++) {
                if (Arrays.equals(xs.get(i).name(), key)) {
                    replaced = i;
                    break;
                }
            }
            if (replaced >= 0) {
                Xattr old = xs.set(replaced, x);
                budget -= 7 + old.name().length + old.value().length;
            } else {
                xs.add(x);
            }
            budget += 7 + kn + vn;
            if (budget > MAX_XATTR_BUDGET) {
                throw error(
                        "Can't set xattr "
                                + printable(key, 0, kn)
                                + ": the entry's xattrs exceed "
                                + MAX_XATTR_BUDGET
                                + " bytes");
            }
            if (q >= end) {
                break;
            }
            p = q + 1;
        }
        return intern(xattrLists, List.copyOf(xs));
    }

    private static <T> T intern(Map<T, T> cache, T value) {
        T known = cache.get(value);
        if (known != null) {
            return known;
        }
        if (cache.size() < INTERN_LIMIT) {
            cache.put(value, value);
        }
        return value;
    }

    /** A field as text for error messages (bytes shown as Latin-1, cut at 80 characters). */
    private static String field(byte[] b, int s, int e) {
        if (s < 0) {
            return "";
        }
        return printable(b, s, e);
    }

    static String printable(byte[] b, int s, int e) {
        StringBuilder sb = new StringBuilder();
        for (int i = s; i < e && sb.length() < 80; i++) {
            int c = b[i] & 0xff;
            if (c >= 0x20 && c < 0x7f) {
                sb.append((char) c);
            } else {
                sb.append(String.format("\\x%02x", c));
            }
        }
        if (e - s > 80) {
            sb.append("...");
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------
    // hardlinks

    private static final class PendingLink {
        final Directory parent;
        final byte[] name;
        final byte[] target;
        final long line;
        Inode resolved;
        boolean visiting;

        PendingLink(Directory parent, byte[] name, byte[] target, long line) {
            this.parent = parent;
            this.name = name;
            this.target = target;
            this.line = line;
        }
    }

    private void resolveLinks() throws DumpFormatException {
        for (PendingLink l : links) {
            resolve(l);
        }
        for (PendingLink l : links) {
            l.parent.put(l.name, l.resolved);
        }
        pending.clear();
    }

    private Inode resolve(PendingLink l) throws DumpFormatException {
        if (l.resolved != null) {
            return l.resolved;
        }
        if (l.visiting) {
            throw error(
                    l.line,
                    "Hardlink loop through '" + printable(l.target, 0, l.target.length) + "'");
        }
        l.visiting = true;
        byte[] t = l.target;
        String shown = printable(t, 0, t.length);
        Inode cur = root;
        Directory dir = null;
        int i = 0;
        int n = t.length;
        PendingLink last = null;
        while (true) {
            while (i < n && t[i] == '/') {
                i++;
            }
            if (i >= n) {
                break;
            }
            int s = i;
            while (i < n && t[i] != '/') {
                i++;
            }
            if (!(cur instanceof Directory)) {
                throw error(l.line, "Hardlink target '" + shown + "' not found");
            }
            dir = (Directory) cur;
            byte[] comp = Arrays.copyOfRange(t, s, i);
            cur = dir.child(comp);
            last = null;
            if (cur == null) {
                last = pendingLink(dir, comp);
                if (last == null) {
                    throw error(l.line, "Hardlink target '" + shown + "' not found");
                }
                // a link to a link: only valid as the final component
                int j = i;
                while (j < n && t[j] == '/') {
                    j++;
                }
                if (j < n) {
                    throw error(l.line, "Hardlink target '" + shown + "' not found");
                }
            }
        }
        if (last == l) {
            throw error(l.line, "Self-referential hardlink to '" + shown + "'");
        }
        if (last != null) {
            cur = resolve(last);
        }
        if (cur instanceof Directory) {
            throw error(l.line, "Directories can't be hardlinked ('" + shown + "')");
        }
        l.resolved = cur;
        l.visiting = false;
        return cur;
    }
}
