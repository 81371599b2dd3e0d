package dev.kcfs.oci.tar;

/** The entry kinds the reader returns; tar's metadata entries (PAX, GNU long names) are consumed internally. */
public enum TarEntryType {
    REGULAR,
    HARDLINK,
    SYMLINK,
    CHAR_DEVICE,
    BLOCK_DEVICE,
    DIRECTORY,
    FIFO
}
