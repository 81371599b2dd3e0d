package dev.kcfs.oci.tar;

import dev.kcfs.tree.Xattr;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * One tar member with every PAX/GNU extension already applied.
 *
 * @param name      raw path bytes as stored (not normalised; may be absolute or contain {@code ..})
 * @param linkName  hardlink or symlink target bytes, empty for other types
 * @param mode      permission bits only ({@code 07777}); the type is {@code type}
 * @param size      body length in bytes (only regular files have bodies the caller sees)
 * @param mtimeNsec 0..999999999, from a PAX {@code mtime} fraction
 * @param xattrs    {@code SCHILY.xattr.*} records in archive order, values byte-exact
 */
public record TarEntry(
        TarEntryType type,
        byte[] name,
        byte[] linkName,
        int mode,
        long uid,
        long gid,
        long size,
        long mtimeSec,
        int mtimeNsec,
        long devMajor,
        long devMinor,
        List<Xattr> xattrs) {
    public TarEntry {
        xattrs = List.copyOf(xattrs);
    }

    /** The name for messages (bytes shown as ISO-8859-1 so every input is printable somehow). */
    public String displayName() {
        return new String(name, StandardCharsets.ISO_8859_1);
    }

    public String displayLinkName() {
        return new String(linkName, StandardCharsets.ISO_8859_1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TarEntry e
                && type == e.type
                && Arrays.equals(name, e.name)
                && Arrays.equals(linkName, e.linkName)
                && mode == e.mode
                && uid == e.uid
                && gid == e.gid
                && size == e.size
                && mtimeSec == e.mtimeSec
                && mtimeNsec == e.mtimeNsec
                && devMajor == e.devMajor
                && devMinor == e.devMinor
                && xattrs.equals(e.xattrs);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(name) * 31 + type.hashCode();
    }

    @Override
    public String toString() {
        return type
                + " "
                + displayName()
                + (linkName.length > 0 ? " -> " + displayLinkName() : "")
                + " size="
                + size;
    }
}
