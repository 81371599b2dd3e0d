package dev.kcfs.image.erofs;

import dev.kcfs.tree.Directory;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.Inode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Every on-disk constant and struct layout of a composefs image (composefs header + EROFS), in one
 * place, as written by upstream mkcomposefs 1.0.8. See docs/format.md, 'Image layout'. All integers are
 * little-endian.
 */
public final class ErofsFormat {
    private ErofsFormat() {}

    // composefs header (offset 0, 32 bytes)
    public static final int COMPOSEFS_MAGIC = 0xd078629a;
    public static final int COMPOSEFS_HEADER_VERSION = 1;
    public static final int COMPOSEFS_HEADER_SIZE = 32;
    public static final int HDR_MAGIC = 0;
    public static final int HDR_VERSION = 4;
    public static final int HDR_FLAGS = 8;
    public static final int HDR_COMPOSEFS_VERSION = 12;

    /** Header flag: some inode carries a POSIX ACL xattr, so mount must not pass {@code noacl}. */
    public static final int FLAG_HAS_ACL = 1;

    /** Format versions this code reads and writes (4.11); spec.formatVersion and the CLI flags take this range. */
    public static final int MIN_FORMAT_VERSION = 0;

    public static final int MAX_FORMAT_VERSION = 1;

    /**
     * The version an image is pinned to where no one names one (OCI imports, {@code kcfs store add},
     * a ComposefsImage without spec.formatVersion): pinned so the digest never depends on the tree.
     */
    public static final int DEFAULT_FORMAT_VERSION = 1;

    /** Whether {@code version} lies in [{@link #MIN_FORMAT_VERSION}, {@link #MAX_FORMAT_VERSION}]. */
    public static boolean isSupportedFormatVersion(int version) {
        return version >= MIN_FORMAT_VERSION && version <= MAX_FORMAT_VERSION;
    }

    // EROFS superblock (offset 1024, 128 bytes); offsets relative to SUPERBLOCK_OFFSET
    public static final int SUPERBLOCK_OFFSET = 1024;
    public static final int SUPERBLOCK_SIZE = 128;
    public static final int EROFS_MAGIC = 0xE0F5E1E2;
    public static final int SB_MAGIC = 0;
    public static final int SB_CHECKSUM = 4;
    public static final int SB_FEATURE_COMPAT = 8;
    public static final int SB_BLKSZBITS = 12;
    public static final int SB_EXTSLOTS = 13;
    public static final int SB_ROOT_NID = 14;
    public static final int SB_INOS = 16;
    public static final int SB_BUILD_TIME = 24;
    public static final int SB_BUILD_TIME_NSEC = 32;
    public static final int SB_BLOCKS = 36;
    public static final int SB_META_BLKADDR = 40;
    public static final int SB_XATTR_BLKADDR = 44;
    public static final int SB_FEATURE_INCOMPAT = 80;
    public static final int FEATURE_COMPAT_MTIME = 0x2;
    public static final int FEATURE_COMPAT_XATTR_FILTER = 0x4;

    public static final int BLOCK_BITS = 12;
    public static final int BLOCK_SIZE = 1 << BLOCK_BITS;

    /** Inodes are addressed in 32-byte slots: nid = byte offset / 32 (meta_blkaddr is 0). */
    public static final int SLOT_SIZE = 32;

    /** First inode (the root) right after the superblock. */
    public static final int INODE_AREA_START = SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE;

    // inodes
    public static final int COMPACT_INODE_SIZE = 32;
    public static final int EXTENDED_INODE_SIZE = 64;
    public static final int LAYOUT_FLAT_PLAIN = 0;
    public static final int LAYOUT_FLAT_INLINE = 2;
    public static final int LAYOUT_CHUNK_BASED = 4;
    // compact inode field offsets
    public static final int I_FORMAT = 0;
    public static final int I_XATTR_ICOUNT = 2;
    public static final int I_MODE = 4;
    public static final int IC_NLINK = 6;
    public static final int IC_SIZE = 8;
    public static final int I_U = 16;
    public static final int I_INO = 20;
    public static final int IC_UID = 24;
    public static final int IC_GID = 26;
    // extended inode field offsets
    public static final int IE_SIZE = 8;
    public static final int IE_UID = 24;
    public static final int IE_GID = 28;
    public static final int IE_MTIME = 32;
    public static final int IE_MTIME_NSEC = 40;
    public static final int IE_NLINK = 44;

    /** Hole chunk address; chunk maps of external files consist only of these. */
    public static final int NULL_ADDR = 0xFFFFFFFF;

    public static final int MAX_CHUNK_BITS = 43;
    public static final int MAX_CHUNKS = 1024;

    // directories
    public static final int DIRENT_SIZE = 12;
    public static final int FT_REG = 1;
    public static final int FT_DIR = 2;
    public static final int FT_CHR = 3;
    public static final int FT_BLK = 4;
    public static final int FT_FIFO = 5;
    public static final int FT_SOCK = 6;
    public static final int FT_SYMLINK = 7;

    // xattrs
    public static final int XATTR_HEADER_SIZE = 12;
    public static final int XATTR_ENTRY_HEADER_SIZE = 4;
    public static final int MAX_SHARED_XATTRS_PER_INODE = 128;
    public static final int XATTR_FILTER_SEED = 0x25BBE08F;

    /** Name prefixes by index; index 0 = no prefix. First match wins, in this order (4.10). */
    static final byte[][] XATTR_PREFIXES = {
        null,
        bytes("user."),
        bytes("system.posix_acl_access"),
        bytes("system.posix_acl_default"),
        bytes("trusted."),
        bytes("lustre."),
        bytes("security."),
    };

    /** Match order when encoding (lustre. is never produced by upstream). */
    static final int[] XATTR_PREFIX_MATCH_ORDER = {1, 2, 3, 4, 6};

    // composefs overlay xattrs (4.4)
    public static final byte[] TRUSTED_OVERLAY = bytes("trusted.overlay.");
    public static final byte[] TRUSTED_OVERLAY_OVERLAY = bytes("trusted.overlay.overlay.");
    public static final byte[] XATTR_METACOPY = bytes("trusted.overlay.metacopy");
    public static final byte[] XATTR_REDIRECT = bytes("trusted.overlay.redirect");
    public static final byte[] XATTR_OPAQUE = bytes("trusted.overlay.opaque");
    public static final byte[] XATTR_ESCAPED_WHITEOUT = bytes("trusted.overlay.overlay.whiteout");
    public static final byte[] XATTR_ESCAPED_WHITEOUTS = bytes("trusted.overlay.overlay.whiteouts");
    public static final byte[] XATTR_ESCAPED_OPAQUE = bytes("trusted.overlay.overlay.opaque");
    public static final byte[] XATTR_USER_WHITEOUT = bytes("user.overlay.whiteout");
    public static final byte[] XATTR_USER_WHITEOUTS = bytes("user.overlay.whiteouts");
    public static final byte[] XATTR_USER_OPAQUE = bytes("user.overlay.opaque");
    public static final byte[] XATTR_SELINUX = bytes("security.selinux");
    public static final byte[] XATTR_ACL_ACCESS = bytes("system.posix_acl_access");
    public static final byte[] XATTR_ACL_DEFAULT = bytes("system.posix_acl_default");

    /** metacopy value header: version 0, length 36, flags 0, hash algorithm 1 (sha256). */
    public static final byte[] METACOPY_HEADER = {0, 36, 0, 1};

    public static final int METACOPY_SIZE = 36;

    /** Root stub whiteouts {@code 00}..{@code ff} (4.4 step 6). */
    public static final int STUB_MODE = FileType.S_IFCHR | 0644;

    public static final byte[] DOT = {'.'};
    public static final byte[] DOTDOT = {'.', '.'};

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The two lowercase hex digits of a stub name, e.g. {@code 0x0a -> "0a"}. */
    static byte[] stubName(int i) {
        final byte[] hex = bytes("0123456789abcdef");
        return new byte[] {hex[i >> 4], hex[i & 15]};
    }

    public static int roundUp(int x, int a) {
        return (x + a - 1) / a * a;
    }

    public static long roundUp(long x, long a) {
        return (x + a - 1) / a * a;
    }

    /**
     * The EROFS {@code i_size} of a directory as the writer lays it out (4.8): dirent bytes of all
     * children plus {@code .} and {@code ..} (and for the root, the stubs {@code 00}..{@code ff}
     * that are not already there), full blocks counted as 4096, a last block over 2048 bytes
     * counted as full. This is the SIZE a dump prints for a directory.
     */
    public static long directorySize(Directory dir, boolean isRoot) {
        DirSizer sizer = new DirSizer();
        forEachDirentName(dir, isRoot, sizer);
        return sizer.size();
    }

    /** Receives a directory's dirent names in bytewise order. */
    interface DirentNameSink {
        void accept(byte[] name, Inode childOrNull);
    }

    /**
     * Feeds the names a directory has in the image, in bytewise order: children, {@code .},
     * {@code ..} and (root only) missing stubs. {@code .}, {@code ..} and stubs come with a null
     * inode.
     */
    static void forEachDirentName(Directory dir, boolean isRoot, DirentNameSink sink) {
        // The extra names are few and sorted: merge them into the already sorted children.
        byte[][] extra = extraNames(dir, isRoot);
        int e = 0;
        for (Map.Entry<byte[], Inode> c : dir.children().entrySet()) {
            byte[] name = c.getKey();
            while (e < extra.length && Arrays.compareUnsigned(extra[e], name) < 0) {
                sink.accept(extra[e++], null);
            }
            sink.accept(name, c.getValue());
        }
        while (e < extra.length) {
            sink.accept(extra[e++], null);
        }
    }

    static byte[][] extraNames(Directory dir, boolean isRoot) {
        if (!isRoot) {
            return new byte[][] {DOT, DOTDOT};
        }
        byte[][] out = new byte[258][];
        int n = 0;
        out[n++] = DOT;
        out[n++] = DOTDOT;
        for (int i = 0; i < 256; i++) {
            byte[] name = stubName(i);
            if (dir.child(name) == null) {
                out[n++] = name;
            }
        }
        return Arrays.copyOf(out, n); // '.' < '..' < digits: already sorted
    }

    /** Computes n_blocks and tail of a dirent stream (4.8 packing). */
    static final class DirSizer implements DirentNameSink {
        int fullBlocks;
        int used;

        @Override
        public void accept(byte[] name, Inode ignored) {
            int cost = DIRENT_SIZE + name.length;
            if (used + cost > BLOCK_SIZE) {
                fullBlocks++;
                used = 0;
            }
            used += cost;
        }

        /** Full blocks after the "tail over half a block is a full block" rule. */
        int nBlocks() {
            return used > BLOCK_SIZE / 2 ? fullBlocks + 1 : fullBlocks;
        }

        int tail() {
            return used > BLOCK_SIZE / 2 ? 0 : used;
        }

        long size() {
            return (long) nBlocks() * BLOCK_SIZE + tail();
        }
    }

    /** The dirent file type of an inode type. */
    static int direntType(int mode) {
        switch (mode & FileType.S_IFMT) {
            case FileType.S_IFREG:
                return FT_REG;
            case FileType.S_IFDIR:
                return FT_DIR;
            case FileType.S_IFCHR:
                return FT_CHR;
            case FileType.S_IFBLK:
                return FT_BLK;
            case FileType.S_IFIFO:
                return FT_FIFO;
            case FileType.S_IFSOCK:
                return FT_SOCK;
            case FileType.S_IFLNK:
                return FT_SYMLINK;
            default:
                throw new IllegalArgumentException(
                        "no dirent type for mode " + Integer.toOctalString(mode));
        }
    }
}
