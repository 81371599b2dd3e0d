package dev.kcfs.tree;

/** The file type bits of {@code st_mode}, as stored in images and dumps. */
public enum FileType {
    FIFO(0010000), CHAR_DEVICE(0020000), DIRECTORY(0040000), BLOCK_DEVICE(0060000),
    REGULAR(0100000), SYMLINK(0120000), SOCKET(0140000);

    public static final int S_IFMT = 0170000;
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
        for (FileType type : ALL) { // not values(): that clones the array on every call (hot in parsers)
            if (type.bits == t) {
                return type;
            }
        }
        return null;
    }
}
