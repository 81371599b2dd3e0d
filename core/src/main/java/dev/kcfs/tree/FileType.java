package dev.kcfs.tree;

/** The file type bits of {@code st_mode}, as stored in images and dumps. */
public enum FileType {
    FIFO(FileType.S_IFIFO),
    CHAR_DEVICE(FileType.S_IFCHR),
    DIRECTORY(FileType.S_IFDIR),
    BLOCK_DEVICE(FileType.S_IFBLK),
    REGULAR(FileType.S_IFREG),
    SYMLINK(FileType.S_IFLNK),
    SOCKET(FileType.S_IFSOCK);

    /** The type bits of a mode; the constants below are their values (usable in {@code switch}). */
    public static final int S_IFMT = 0170000;

    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFSOCK = 0140000;
    private static final FileType[] ALL = values();
    private final int bits;

    FileType(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    /** The type of a full mode, or null if the type bits are not one of the seven Unix types. */
    public static FileType of(int mode) {
        int t = mode & S_IFMT;
        for (FileType type :
                ALL) { // not values(): that clones the array on every call (hot in parsers)
            if (type.bits == t) {
                return type;
            }
        }
        return null;
    }
}
