package dev.kcfs.store;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The store's {@code tmp/}: every writer works in its own session directory there and holds a
 * shared lock on {@code tmp/.users} while it does. Leftovers of crashed writers are removed only
 * when the exclusive lock can be taken, i.e. when no writer of any process is active, so cleaning
 * can never delete a live writer's files. (Per-session locks would leave a window between creating
 * a session and locking it in which a cleaner could take it for stale.)
 */
final class Scratch {
    static final String USERS_LOCK = ".users";
    private final Path dir;

    private Scratch(Path dir) {
        this.dir = dir;
    }

    static Scratch open(Path dir) throws StoreException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StoreException(
                    "cannot create temporary directory " + dir + ": " + e.getMessage(), e);
        }
        Scratch s = new Scratch(dir);
        s.cleanIfIdle();
        return s;
    }

    Path dir() {
        return dir;
    }

    /** A private directory under tmp/ that is deleted on close (and by a later cleaning after a crash). */
    Session session(String prefix) throws StoreException {
        FileLock lock = FileLock.shared(dir.resolve(USERS_LOCK));
        try {
            return new Session(Files.createTempDirectory(dir, prefix), lock);
        } catch (IOException e) {
            lock.close();
            throw new StoreException(
                    "cannot create a working directory in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes everything in tmp/ except the lock file if no writer is active. Returns the number of
     * top-level entries removed, or -1 if writers are active (their leftovers wait for the next time).
     */
    int cleanIfIdle() throws StoreException {
        try (FileLock lock = FileLock.tryExclusive(dir.resolve(USERS_LOCK))) {
            if (lock == null) {
                return -1;
            }
            int removed = 0;
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                for (Path p : entries) {
                    if (!p.getFileName().toString().equals(USERS_LOCK)) {
                        deleteTree(p);
                        removed++;
                    }
                }
            } catch (IOException e) {
                throw new StoreException(
                        "cannot clean temporary directory " + dir + ": " + e.getMessage(), e);
            }
            return removed;
        }
    }

    /**
     * Removes the whole temporary directory, lock file included, if no writer is active; returns
     * whether it did. For object directories shared with other tools (upstream's), which should not
     * find a foreign directory there afterwards. The directory is renamed away under the exclusive
     * lock first, so a writer that starts meanwhile fails to create its session instead of working in
     * a directory being deleted.
     */
    boolean removeIfIdle() throws StoreException {
        Path gone =
                dir.resolveSibling(
                        dir.getFileName()
                                + ".gone-"
                                + ProcessHandle.current().pid()
                                + "-"
                                + System.nanoTime());
        try (FileLock lock = FileLock.tryExclusive(dir.resolve(USERS_LOCK))) {
            if (lock == null) {
                return false;
            }
            Files.move(dir, gone, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            return true;
        } catch (IOException e) {
            throw new StoreException(
                    "cannot remove temporary directory " + dir + ": " + e.getMessage(), e);
        }
        try {
            deleteTree(gone);
        } catch (IOException e) {
            throw new StoreException(
                    "cannot remove temporary directory " + gone + ": " + e.getMessage(), e);
        }
        return true;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(
                root,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.deleteIfExists(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException exc)
                            throws IOException {
                        if (exc instanceof NoSuchFileException) {
                            return FileVisitResult.CONTINUE;
                        }
                        throw exc;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path d, IOException exc)
                            throws IOException {
                        Files.deleteIfExists(d);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }

    static final class Session implements AutoCloseable {
        private final Path dir;
        private final FileLock lock;
        private boolean closed;

        private Session(Path dir, FileLock lock) {
            this.dir = dir;
            this.lock = lock;
        }

        Path dir() {
            return dir;
        }

        /** Deletes the session directory, then lets cleaners in. */
        @Override
        public synchronized void close() throws StoreException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                deleteTree(dir);
            } catch (IOException e) {
                throw new StoreException(
                        "cannot remove temporary directory "
                                + dir
                                + " (it will be removed when the store is idle): "
                                + e.getMessage(),
                        e);
            } finally {
                lock.close();
            }
        }
    }
}
