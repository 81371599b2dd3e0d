package dev.kcfs.csi;

import dev.kcfs.mount.ImageMounter;
import dev.kcfs.mount.KernelMounts;
import dev.kcfs.mount.MountRecords;
import dev.kcfs.mount.MountTable;
import dev.kcfs.mount.SharedMounts;
import dev.kcfs.mount.TargetDir;
import dev.kcfs.publish.ImageVerity;
import dev.kcfs.publish.PublishedImages;
import dev.kcfs.publish.ResolvedImage;
import dev.kcfs.store.RecordFile;
import dev.kcfs.verity.Digest;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver state: which volumes are published where, and the shared image mounts behind them.
 *
 * <p>Every operation on one target path runs under that path's lock; operations on different
 * targets run in parallel and meet only at the lock of {@link SharedMounts}, which covers making
 * or finding the shared mount of an image, binding it to the target, and releasing it. Each
 * publication also has a small record under {@code publications/<key>/} (written before mounting,
 * removed after unmounting) next to a writable volume's upper and work dirs; with the kernel's
 * mount table it lets a restarted plugin rebuild this state without touching live mounts.
 */
public final class PublishedVolumes implements PublishedImages {
    private static final Logger LOG = LoggerFactory.getLogger(PublishedVolumes.class);
    private static final String RECORD = "publication.properties";

    /** Finds the image to mount; throws {@link CsiException} when it cannot be mounted now. */
    @FunctionalInterface
    interface Resolver {
        ResolvedImage resolve(String imageName);
    }

    /** What publish did. */
    enum Outcome {
        MOUNTED,
        ALREADY_PUBLISHED
    }

    private final Path publicationsDir;
    private final Path kubeletDir;
    private final MountRecords records;
    private final SharedMounts shared;
    private final ImageVerity verity;
    private final KernelMounts kernel;
    private final KeyedLocks<Path> targetLocks = new KeyedLocks<>();
    private final Map<Path, Publication> byTarget = new ConcurrentHashMap<>();

    /** Publishes under {@code kubeletDir} only: every target is resolved below it without following symlinks. */
    public PublishedVolumes(
            Path storeRoot,
            Path kubeletDir,
            MountRecords records,
            ImageMounter mounter,
            ImageVerity verity,
            KernelMounts kernel) {
        this.publicationsDir = storeRoot.resolve("publications");
        this.kubeletDir = kubeletDir;
        this.records = records;
        this.shared = new SharedMounts(records, mounter, kernel);
        this.verity = verity;
        this.kernel = kernel;
    }

    Outcome publish(VolumeSpec spec, Resolver resolver, long timeoutNanos)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        Path target = spec.target();
        try (KeyedLocks.Held held = lockTarget(target, spec.volumeId(), timeoutNanos)) {
            Publication existing = byTarget.get(target);
            boolean mounted = MountTable.read().isMountPoint(target);
            if (existing != null && existing.volumeId().isEmpty()) {
                if (mounted) {
                    return takeOver(existing, spec, resolver);
                }
                drop(
                        existing,
                        remaining(start, timeoutNanos)); // an adopted volume that is gone since
                existing = null;
            }
            if (existing != null) {
                if (!existing.sameRequest(spec)) {
                    throw new CsiException(
                            Status.Code.ALREADY_EXISTS,
                            "target "
                                    + target
                                    + " already holds volume "
                                    + existing.volumeId()
                                    + " (image "
                                    + existing.imageName()
                                    + ", writable "
                                    + existing.writable()
                                    + ", readonly "
                                    + existing.readonly()
                                    + "); the new request for volume "
                                    + spec.volumeId()
                                    + " (image "
                                    + spec.imageName()
                                    + ", writable "
                                    + spec.writable()
                                    + ", readonly "
                                    + spec.readonly()
                                    + ") differs: unpublish it first");
                }
                if (mounted) {
                    return Outcome.ALREADY_PUBLISHED;
                }
                // someone unmounted it behind our back: forget it and mount it again below
                LOG.warn(
                        "volume {} at {} was no longer mounted; mounting it again",
                        existing.volumeId(),
                        target);
                drop(existing, remaining(start, timeoutNanos));
            } else if (mounted) {
                throw new CsiException(
                        Status.Code.ALREADY_EXISTS,
                        "target "
                                + target
                                + " already has a mount that"
                                + " kcfs did not make; unmount it or use another target");
            }

            ResolvedImage image = resolver.resolve(spec.imageName());
            Publication publication =
                    new Publication(
                            spec.volumeId(),
                            target,
                            spec.imageName(),
                            image.digest(),
                            spec.writable(),
                            spec.readonly(),
                            null);
            // the bind happens under the shared mounts' lock, so no release can unmount the source
            // meanwhile
            return shared.acquire(
                    image.digest(),
                    verity.verityOf(spec.imageName()),
                    Duration.ofNanos(remaining(start, timeoutNanos)),
                    source -> bind(publication, source.target()));
        }
    }

    /**
     * Mounts the shared mount {@code source} at the publication's target, opened once below the
     * kubelet dir without following symlinks and mounted on as opened; on failure leaves nothing behind.
     */
    private Outcome bind(Publication publication, Path source) throws IOException {
        Path target = publication.target();
        Path volumeDir = volumeDir(target);
        writeRecord(volumeDir, publication);
        TargetDir dir = null;
        try {
            dir = TargetDir.open(kubeletDir, target, true);
            if (publication.writable()) {
                Path upper = Files.createDirectories(volumeDir.resolve("upper"));
                Path work = Files.createDirectories(volumeDir.resolve("work"));
                kernel.overlay(source, upper, work, dir);
            } else {
                kernel.bindReadOnly(source, dir);
            }
            int id = dir.mountId();
            byTarget.put(
                    target,
                    publication.withMount(
                            MountTable.read().entries().stream()
                                    .filter(m -> m.id() == id)
                                    .findFirst()
                                    .orElse(null)));
            return Outcome.MOUNTED;
        } catch (IOException | RuntimeException e) {
            deleteTree(volumeDir);
            if (dir != null && dir.created()) {
                dir.removeIfEmpty();
            }
            throw e;
        } finally {
            if (dir != null) {
                dir.close();
            }
        }
    }

    /** A republish of an adopted orphan: same image digest and mode make it this volume. */
    private Outcome takeOver(Publication orphan, VolumeSpec spec, Resolver resolver)
            throws IOException {
        ResolvedImage image = resolver.resolve(spec.imageName());
        if (!image.digest().equals(orphan.digest()) || orphan.writable() != spec.writable()) {
            throw new CsiException(
                    Status.Code.ALREADY_EXISTS,
                    "target "
                            + orphan.target()
                            + " already holds a "
                            + (orphan.writable() ? "writable" : "read-only")
                            + " volume of image digest "
                            + orphan.digest().hex()
                            + ", which differs from the request for volume "
                            + spec.volumeId()
                            + " (image "
                            + spec.imageName()
                            + "); unpublish it first");
        }
        Publication p =
                new Publication(
                        spec.volumeId(),
                        orphan.target(),
                        spec.imageName(),
                        orphan.digest(),
                        spec.writable(),
                        spec.readonly(),
                        orphan.mount());
        writeRecord(volumeDir(orphan.target()), p);
        byTarget.put(orphan.target(), p);
        return Outcome.ALREADY_PUBLISHED;
    }

    /** Unpublishes whatever kcfs published at {@code target}; an unknown target is already done. */
    void unpublish(String volumeId, Path target, long timeoutNanos)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        try (KeyedLocks.Held held = lockTarget(target, volumeId, timeoutNanos)) {
            Publication p = byTarget.get(target);
            if (p == null) {
                // nothing of ours; remove the directory only if it is an empty leftover of a failed
                // publish
                removeIfEmpty(target);
                return;
            }
            if (!p.volumeId().isEmpty() && !p.volumeId().equals(volumeId)) {
                throw new CsiException(
                        Status.Code.NOT_FOUND,
                        "target "
                                + target
                                + " holds volume "
                                + p.volumeId()
                                + ", not "
                                + volumeId
                                + "; nothing was unmounted");
            }
            drop(p, remaining(start, timeoutNanos));
        }
    }

    /**
     * Unmounts a publication (through the target's parent, opened below the kubelet dir without
     * following symlinks) and removes every trace of it. Fails while the mount it made is still in
     * the mount table, wherever it is now, so unpublish never reports success over a live mount.
     */
    private void drop(Publication p, long timeoutNanos) throws IOException, InterruptedException {
        Path target = p.target();
        try (TargetDir parent = openParent(target)) {
            for (int i = 0;
                    parent != null && i < 16 && MountTable.read().isMountPoint(target);
                    i++) {
                kernel.unmount(parent);
            }
            if (parent != null && !MountTable.read().isMountPoint(target)) {
                parent.removeIfEmpty();
            }
        }
        MountTable table = MountTable.read();
        Optional<MountTable.Entry> left = table.at(target);
        if (left.isEmpty()) {
            // moved away with a renamed directory; an id another volume's mount reuses is not ours
            left =
                    table.entries().stream()
                            .filter(p::madeMount)
                            .filter(e -> !byTarget.containsKey(e.mountPoint()))
                            .findFirst();
        }
        if (left.isPresent()) {
            throw new CsiException(
                    Status.Code.INTERNAL,
                    "cannot unpublish volume "
                            + p.volumeId()
                            + ": mount "
                            + left.get().id()
                            + " is still at "
                            + left.get().mountPoint()
                            + " (the target's path changed or"
                            + " it stays busy); kubelet will retry");
        }
        deleteTree(volumeDir(target)); // a writable volume's upper dir goes with it
        byTarget.remove(target);
        shared.release(p.digest(), Duration.ofNanos(timeoutNanos));
    }

    /**
     * Rebuilds the state after a restart: a record whose target is still mounted is a live
     * publication (and keeps its shared mount); a record without a mount is a publish or
     * unpublish that died half-way and is cleaned up; a shared mount that no live publication
     * uses is unmounted. Live mounts are never touched.
     */
    public RecoveryReport recover(Path kubeletDir) throws IOException {
        MountTable table = MountTable.read();
        Map<Digest, Set<Path>> usersByDigest = new HashMap<>();
        int restored = 0;
        int cleaned = 0;
        List<Path> unreadable = new ArrayList<>();
        if (Files.isDirectory(publicationsDir)) {
            for (Path volumeDir : list(publicationsDir)) {
                Optional<Publication> record = readRecord(volumeDir);
                if (record.isPresent() && table.isMountPoint(record.get().target())) {
                    Publication p =
                            record.get().withMount(table.at(record.get().target()).orElseThrow());
                    byTarget.put(p.target(), p);
                    usersByDigest.computeIfAbsent(p.digest(), d -> new HashSet<>()).add(p.target());
                    restored++;
                } else if (record.isEmpty()) {
                    unreadable.add(volumeDir); // may hold the upper dir of a volume adopted below
                } else {
                    LOG.info("removing stale publication record {}", volumeDir);
                    removeIfEmpty(record.get().target());
                    deleteTree(volumeDir);
                    cleaned++;
                }
            }
        }
        int adopted = adoptOrphans(table, kubeletDir, usersByDigest);
        for (Path volumeDir : unreadable) {
            if (!Files.exists(volumeDir.resolve(RECORD))) { // adoption writes a new record
                LOG.info("removing publication dir {} without a record or a mount", volumeDir);
                deleteTree(volumeDir);
                cleaned++;
            }
        }
        // shared mounts nothing uses (no live volume, no bind elsewhere) and records without a
        // mount go
        int sharedDropped = shared.releaseUnused(Duration.ofMinutes(1)).size();
        return new RecoveryReport(restored, adopted, cleaned, usersByDigest.size(), sharedDropped);
    }

    /**
     * Mounts under the kubelet dir that come from a shared image mount but have no record (lost
     * records, e.g. a store wiped by hand) are adopted with an unknown volume id, so unpublish
     * can still clean them and a republish of the same image takes them over. A read-only volume
     * is recognised by sharing the shared mount's device, a writable one by its overlay lowerdir.
     */
    private int adoptOrphans(
            MountTable table, Path kubeletDir, Map<Digest, Set<Path>> usersByDigest)
            throws IOException {
        Map<String, Digest> sharedByDevice = new HashMap<>();
        Map<String, Digest> sharedByPath = new HashMap<>();
        for (Digest d : records.recorded()) {
            Path dir = records.pathOf(d);
            sharedByPath.put(dir.toString(), d);
            table.at(dir).ifPresent(e -> sharedByDevice.put(e.device(), d));
        }
        int adopted = 0;
        for (MountTable.Entry e : table.entries()) {
            Path target = e.mountPoint();
            if (!target.startsWith(kubeletDir) || byTarget.containsKey(target)) {
                continue;
            }
            Digest digest = null;
            boolean writable = false;
            Optional<String> lower =
                    e.lowerLayers().stream().filter(sharedByPath::containsKey).findFirst();
            if (lower.isPresent()) {
                digest = sharedByPath.get(lower.get());
                writable = true;
            } else if (sharedByDevice.containsKey(e.device())) {
                digest = sharedByDevice.get(e.device());
            }
            if (digest == null) {
                continue;
            }
            Publication p = new Publication("", target, "", digest, writable, !writable, e);
            LOG.warn(
                    "adopting {} volume at {} (image digest {}) that has no publication record",
                    writable ? "a writable" : "a read-only",
                    target,
                    digest.hex());
            writeRecord(volumeDir(target), p);
            byTarget.put(target, p);
            usersByDigest.computeIfAbsent(digest, d -> new HashSet<>()).add(target);
            adopted++;
        }
        return adopted;
    }

    /** What {@link #recover} found. */
    public record RecoveryReport(
            int publicationsRestored,
            int orphansAdopted,
            int staleRecordsRemoved,
            int sharedMountsKept,
            int sharedMountsDropped) {}

    Optional<Publication> at(Path target) {
        return Optional.ofNullable(byTarget.get(target));
    }

    @Override
    public Map<String, Integer> volumesByImage() {
        Map<String, Integer> out = new HashMap<>();
        for (Publication p : byTarget.values()) {
            if (p.imageName() != null && !p.imageName().isEmpty()) {
                out.merge(p.imageName(), 1, Integer::sum);
            }
        }
        return out;
    }

    int volumeCount() {
        return byTarget.size();
    }

    /** Images mounted for at least one volume. */
    int sharedMountCount() {
        return (int) byTarget.values().stream().map(Publication::digest).distinct().count();
    }

    /** Volumes using the shared mount of {@code digest}. */
    int sharedUsers(Digest digest) {
        return (int) byTarget.values().stream().filter(p -> p.digest().equals(digest)).count();
    }

    Path sharedPath(Digest digest) {
        return shared.pathOf(digest);
    }

    private KeyedLocks.Held lockTarget(Path target, String volumeId, long timeoutNanos)
            throws InterruptedException {
        KeyedLocks.Held held = targetLocks.tryLock(target, timeoutNanos);
        if (held == null) {
            throw new CsiException(
                    Status.Code.ABORTED,
                    "another operation on target "
                            + target
                            + " (volume "
                            + volumeId
                            + ") is still running; kubelet will retry");
        }
        return held;
    }

    /** The parent of a target below the kubelet dir, or null when it cannot be reached without a symlink. */
    private TargetDir openParent(Path target) {
        try {
            return TargetDir.parentOf(kubeletDir, target);
        } catch (IOException e) {
            LOG.warn("cannot open the directory of {}: {}", target, e.getMessage());
            return null;
        }
    }

    /** Removes an empty leftover target directory, through its opened parent. */
    private void removeIfEmpty(Path target) {
        try (TargetDir parent = openParent(target)) {
            if (parent != null) {
                parent.removeIfEmpty();
            }
        }
    }

    private static long remaining(long start, long timeoutNanos) {
        return Math.max(0, timeoutNanos - (System.nanoTime() - start));
    }

    private Path volumeDir(Path target) {
        try {
            byte[] hash =
                    MessageDigest.getInstance("SHA-256")
                            .digest(target.toString().getBytes(StandardCharsets.UTF_8));
            return publicationsDir.resolve(HexFormat.of().formatHex(hash, 0, 20));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }

    private static void writeRecord(Path volumeDir, Publication p) throws IOException {
        Files.createDirectories(volumeDir);
        Properties props = new Properties();
        props.setProperty("volumeId", p.volumeId());
        props.setProperty("target", p.target().toString());
        props.setProperty("image", p.imageName());
        props.setProperty("digest", p.digest().hex());
        props.setProperty("writable", Boolean.toString(p.writable()));
        props.setProperty("readonly", Boolean.toString(p.readonly()));
        RecordFile.replace(volumeDir.resolve(RECORD), props, "kcfs CSI publication");
    }

    private static Optional<Publication> readRecord(Path volumeDir) {
        Path file = volumeDir.resolve(RECORD);
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            props.load(in);
            return Optional.of(
                    new Publication(
                            props.getProperty("volumeId"),
                            Path.of(props.getProperty("target")),
                            props.getProperty("image"),
                            Digest.parse(props.getProperty("digest")),
                            Boolean.parseBoolean(props.getProperty("writable")),
                            Boolean.parseBoolean(props.getProperty("readonly")),
                            null));
        } catch (IOException | RuntimeException e) {
            LOG.warn("unreadable publication record {}: {}", file, e.toString());
            return Optional.empty();
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        }
        return out;
    }

    /** Deletes a tree without following symlinks (an upper dir holds whatever the pod wrote). */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
