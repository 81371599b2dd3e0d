package dev.kcfs.store;

import com.sun.jna.LastErrorException;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.FileCalls;
import dev.kcfs.linux.LibC;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The few calls that make writes durable and publish them atomically. */
final class Durability {
    private Durability() {}

    /** fsync of a file or directory by path (a read-only fd is enough for both on Linux). */
    static void fsync(Path p) throws StoreException {
        LibC c = LibC.INSTANCE;
        int fd;
        try {
            fd = c.open(p.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new StoreException(Errno.describe("cannot open " + p + " to make it durable", e));
        }
        try {
            c.fsync(fd);
        } catch (LastErrorException e) {
            throw new StoreException(
                    Errno.describe("fsync of " + p + " failed; the data may not be on disk", e));
        } finally {
            c.close(fd);
        }
    }

    /** syncfs of the filesystem holding the path: all its dirty data and metadata in one go. */
    static void syncFilesystem(Path anyPath) throws StoreException {
        LibC c = LibC.INSTANCE;
        int fd;
        try {
            fd = c.open(anyPath.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new StoreException(
                    Errno.describe("cannot open " + anyPath + " to sync its filesystem", e));
        }
        try {
            c.syncfs(fd);
        } catch (LastErrorException e) {
            throw new StoreException(
                    Errno.describe(
                            "syncfs of the filesystem holding "
                                    + anyPath
                                    + " failed; data may not be on disk",
                            e));
        } finally {
            c.close(fd);
        }
    }

    /**
     * Moves a durable temporary file to its final name without ever replacing an existing file.
     * Returns false if the target existed (the temporary is left for its session to remove).
     */
    static boolean publishNoReplace(Path temp, Path target) throws StoreException {
        return publishNoReplace(FileCalls.cPath(temp), FileCalls.cPath(target));
    }

    /** {@link #publishNoReplace(Path, Path)} for paths as NUL-terminated bytes. */
    static boolean publishNoReplace(byte[] temp, byte[] target) throws StoreException {
        try {
            FileCalls.renameat2(LibC.AT_FDCWD, temp, LibC.AT_FDCWD, target, LibC.RENAME_NOREPLACE);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EEXIST) {
                return false;
            }
            if (e.getErrorCode() != Errno.EINVAL && e.getErrorCode() != Errno.ENOSYS) {
                throw new StoreException(
                        Errno.describe("cannot move " + text(temp) + " to " + text(target), e));
            }
        }
        // the filesystem has no RENAME_NOREPLACE; link(2) never replaces either
        try {
            FileCalls.link(temp, target);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EEXIST) {
                return false;
            }
            throw new StoreException(
                    Errno.describe("cannot link " + text(temp) + " to " + text(target), e));
        }
    }

    /** A NUL-terminated path for a message. */
    private static String text(byte[] cPath) {
        return new String(cPath, 0, cPath.length - 1, StandardCharsets.UTF_8);
    }

    /**
     * The durable replace of a small file: the new content reaches the disk before the rename, and
     * the rename before this returns, so a crash leaves the old file or the new one, never neither.
     */
    static void replaceDurably(Path temp, Path target) throws StoreException {
        fsync(temp);
        publishReplace(temp, target);
        fsync(target.getParent());
    }

    /** Atomic replace (for refs and object lists, whose content may legitimately change). */
    static void publishReplace(Path temp, Path target) throws StoreException {
        try {
            LibC.INSTANCE.renameat2(
                    LibC.AT_FDCWD, temp.toString(), LibC.AT_FDCWD, target.toString(), 0);
        } catch (LastErrorException e) {
            throw new StoreException(Errno.describe("cannot move " + temp + " to " + target, e));
        }
    }
}
