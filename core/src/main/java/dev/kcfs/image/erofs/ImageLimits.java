package dev.kcfs.image.erofs;

import dev.kcfs.tree.Xattr;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What a composefs image can hold and the kernel can serve: the limits every importer checks while
 * it reads its input (so the error names the input entry, before any work is spent on it), that the
 * writer enforces and that the reader accepts. One set of numbers for all of them, so an image kcfs
 * writes is always one kcfs reads back.
 *
 * <p>Each check returns null when the value is within the limits, else a sentence saying what is
 * wrong (without the entry's name: the caller prefixes it).
 */
public final class ImageLimits {
    private ImageLimits() {}

    /** Longest file name (one path component), in bytes: the kernel's NAME_MAX and EROFS's dirent limit. */
    public static final int MAX_NAME = 255;

    /**
     * Most components in a path below the image root. Deeper trees are valid on disk but no path
     * into them fits the kernel's 4096-byte PATH_MAX in one go; the limit also bounds the recursion
     * of every tree walk on hostile input.
     */
    public static final int MAX_DEPTH = 2048;

    /** Longest symlink target, in bytes (PATH_MAX without its NUL; EROFS keeps it in one block). */
    public static final int MAX_SYMLINK = 4095;

    /** Longest xattr name, in bytes: the kernel's XATTR_NAME_MAX. */
    public static final int MAX_XATTR_NAME = 255;

    /** Largest xattr value, in bytes: EROFS stores its length in 16 bits. */
    public static final int MAX_XATTR_VALUE = 0xFFFF;

    /** Total bytes of one file's xattr names, each with its NUL: the kernel's XATTR_LIST_MAX for listxattr. */
    public static final int MAX_XATTR_NAMES_BYTES = 65536;

    /**
     * Largest xattr area of one inode: EROFS counts it in 4-byte units in 16 bits (12-byte header plus
     * 65534 units), less room for the overlay xattrs composefs adds (escape prefixes, redirect, metacopy).
     */
    public static final int MAX_XATTR_AREA = 12 + 4 * 65534 - 512;

    /** Problem with one path component, or null. */
    public static String checkName(byte[] name) {
        if (name.length > MAX_NAME) {
            return "has a name component of "
                    + name.length
                    + " bytes ('"
                    + shorten(name)
                    + "'); file names are at most "
                    + MAX_NAME
                    + " bytes";
        }
        for (byte b : name) {
            if (b == 0) {
                return "has a NUL byte in its name";
            }
        }
        return null;
    }

    /** Problem with a path depth (components below the root), or null. */
    public static String checkDepth(int components) {
        if (components > MAX_DEPTH) {
            return "is "
                    + components
                    + " directories deep; images nest at most "
                    + MAX_DEPTH
                    + " levels";
        }
        return null;
    }

    /** Problem with a symlink target, or null. */
    public static String checkSymlinkTarget(byte[] target) {
        if (target.length > MAX_SYMLINK) {
            return "is a symlink whose target has "
                    + target.length
                    + " bytes; targets are at most "
                    + MAX_SYMLINK
                    + " bytes";
        }
        for (byte b : target) {
            if (b == 0) {
                return "is a symlink whose target has a NUL byte";
            }
        }
        return null;
    }

    /** Problem with one file's xattrs (in any order, duplicates counted), or null. */
    public static String checkXattrs(List<Xattr> xattrs) {
        long names = 0;
        long area = ErofsFormat.XATTR_HEADER_SIZE;
        for (Xattr x : xattrs) {
            byte[] name = x.name();
            if (name.length == 0 || indexOfNul(name) >= 0) {
                return "has an xattr with an empty name or a NUL in its name";
            }
            if (name.length > MAX_XATTR_NAME) {
                return "has an xattr name of "
                        + name.length
                        + " bytes ('"
                        + shorten(name)
                        + "'); xattr names are at most "
                        + MAX_XATTR_NAME
                        + " bytes";
            }
            if (x.value().length > MAX_XATTR_VALUE) {
                return "has a "
                        + x.value().length
                        + "-byte value for xattr "
                        + shorten(name)
                        + "; xattr values are at most "
                        + MAX_XATTR_VALUE
                        + " bytes";
            }
            names += name.length + 1L;
            area +=
                    (ErofsFormat.XATTR_ENTRY_HEADER_SIZE + name.length + x.value().length + 3)
                            & ~3L;
        }
        if (names > MAX_XATTR_NAMES_BYTES) {
            return "has "
                    + xattrs.size()
                    + " xattrs whose names take "
                    + names
                    + " bytes; the kernel lists at most "
                    + MAX_XATTR_NAMES_BYTES
                    + " bytes of xattr names per file";
        }
        if (area > MAX_XATTR_AREA) {
            return "has "
                    + xattrs.size()
                    + " xattrs taking "
                    + area
                    + " bytes; an image holds at most "
                    + MAX_XATTR_AREA
                    + " bytes of xattrs per file";
        }
        return null;
    }

    private static int indexOfNul(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The first 40 bytes of a long name, for messages. */
    private static String shorten(byte[] name) {
        String s = new String(name, 0, Math.min(name.length, 40), StandardCharsets.ISO_8859_1);
        return name.length > 40 ? s + "..." : s;
    }
}
