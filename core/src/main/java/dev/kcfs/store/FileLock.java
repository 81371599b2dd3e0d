package dev.kcfs.store;

import com.sun.jna.LastErrorException;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.nio.file.Path;

/**
 * A flock(2) lock on a file, shared or exclusive. Used instead of the JDK's FileChannel locks
 * because those are per process (fcntl): two threads or two store instances in one JVM would not
 * exclude each other, and closing any other fd of the file would silently drop the lock.
 */
final class FileLock implements AutoCloseable {
    private int fd;

    private FileLock(int fd) {
        this.fd = fd;
    }

    static FileLock shared(Path file) throws StoreException {
        return acquire(file, LibC.LOCK_SH, true);
    }

    static FileLock exclusive(Path file) throws StoreException {
        return acquire(file, LibC.LOCK_EX, true);
    }

    /** Returns null if another holder prevents the lock right now. */
    static FileLock tryExclusive(Path file) throws StoreException {
        return acquire(file, LibC.LOCK_EX, false);
    }

    static FileLock tryShared(Path file) throws StoreException {
        return acquire(file, LibC.LOCK_SH, false);
    }

    private static FileLock acquire(Path file, int op, boolean wait) throws StoreException {
        int fd;
        try {
            fd =
                    LibC.INSTANCE.open(
                            file.toString(), LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0644);
        } catch (LastErrorException e) {
            throw new StoreException(Errno.describe("cannot open lock file " + file, e));
        }
        while (true) {
            try {
                LibC.INSTANCE.flock(fd, wait ? op : op | LibC.LOCK_NB);
                return new FileLock(fd);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) {
                    continue;
                }
                LibC.INSTANCE.close(fd);
                if (!wait && e.getErrorCode() == Errno.EAGAIN) {
                    return null;
                }
                throw new StoreException(Errno.describe("cannot lock " + file, e));
            }
        }
    }

    @Override
    public synchronized void close() {
        if (fd >= 0) {
            LibC.INSTANCE.close(fd); // closing the only fd of this description releases the lock
            fd = -1;
        }
    }
}
