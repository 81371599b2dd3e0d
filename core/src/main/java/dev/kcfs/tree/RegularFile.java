package dev.kcfs.tree;

import dev.kcfs.verity.Digest;
import java.util.Arrays;
import java.util.List;

/**
 * A regular file. Exactly one of three shapes: empty ({@code size == 0}), inline ({@code content}
 * holds all {@code size} bytes) or external (body lives in an object store at {@code payload},
 * usually {@code ab/cdef…}, with its fs-verity {@code digest} when known).
 *
 * @param payload backing path relative to the object dir, or null
 * @param content inline content, or null
 * @param digest  fs-verity digest of the body, or null
 */
public record RegularFile(
        Stat stat, List<Xattr> xattrs, long size, byte[] payload, byte[] content, Digest digest)
        implements Inode {

    public RegularFile {
        xattrs = List.copyOf(xattrs);
    }

    public boolean isInline() {
        return content != null;
    }

    public boolean isExternal() {
        return content == null && size > 0;
    }

    public RegularFile withStat(Stat s) {
        return new RegularFile(s, xattrs, size, payload, content, digest);
    }

    public RegularFile withXattrs(List<Xattr> x) {
        return new RegularFile(stat, x, size, payload, content, digest);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RegularFile f
                && stat.equals(f.stat)
                && xattrs.equals(f.xattrs)
                && size == f.size
                && Arrays.equals(payload, f.payload)
                && Arrays.equals(content, f.content)
                && java.util.Objects.equals(digest, f.digest);
    }

    @Override
    public int hashCode() {
        return stat.hashCode() * 31 + Long.hashCode(size);
    }
}
