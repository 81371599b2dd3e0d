package dev.kcfs.csi;

import dev.kcfs.mount.MountRecords;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Mount records in plain directories, for nodes over {@link TmpfsImages} (whose images are not in
 * a store): {@code DIR/<digest>/} and {@code DIR/<digest>.verity}, with an in-process lock.
 */
final class DirectoryMountRecords implements MountRecords {
    private final Path dir;
    private final ReentrantLock lock = new ReentrantLock();

    DirectoryMountRecords(Path dir) {
        this.dir = dir;
    }

    @Override
    public Path pathOf(Digest image) {
        return dir.resolve(image.hex());
    }

    @Override
    public void create(Digest image) throws IOException {
        Files.createDirectories(pathOf(image));
        Files.deleteIfExists(modeFile(image));
    }

    @Override
    public void setVerity(Digest image, VerityMode mode) throws IOException {
        Files.writeString(modeFile(image), mode.name());
    }

    @Override
    public Optional<VerityMode> verity(Digest image) throws IOException {
        try {
            return Optional.of(VerityMode.valueOf(Files.readString(modeFile(image))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public void remove(Digest image) throws IOException {
        Files.deleteIfExists(pathOf(image));
        Files.deleteIfExists(modeFile(image));
    }

    @Override
    public Set<Digest> recorded() throws IOException {
        Set<Digest> out = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(dir, Files::isDirectory)) {
            for (Path p : dirs) {
                out.add(Digest.parse(p.getFileName().toString()));
            }
        }
        return out;
    }

    @Override
    public Held lock(Duration wait) throws IOException {
        try {
            return lock.tryLock(wait.toNanos(), TimeUnit.NANOSECONDS) ? lock::unlock : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the mount records lock", e);
        }
    }

    private Path modeFile(Digest image) {
        return dir.resolve(image.hex() + ".verity");
    }
}
