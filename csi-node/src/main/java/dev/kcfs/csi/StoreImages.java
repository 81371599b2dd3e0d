package dev.kcfs.csi;

import dev.kcfs.publish.BuiltImages;
import dev.kcfs.publish.ResolvedImage;
import dev.kcfs.store.Store;
import dev.kcfs.store.StoreException;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** The node store seen from the CSI plugin: image refs by name, and the numbers for {@code /metrics}. */
public final class StoreImages implements BuiltImages, StoreUsage {
    /**
     * kubelet asks for the stats of every volume about once a minute, and checking an image stats
     * each of its objects: the answer is kept per image until fsck quarantines something (the
     * quarantine directory changes) or {@link #DAMAGE_RECHECK} has passed (objects deleted by hand).
     */
    static final Duration DAMAGE_RECHECK = Duration.ofMinutes(5);

    private record DamageCheck(
            Optional<String> damage, Quarantine quarantine, long checkedAtNanos) {}

    /** What tells whether fsck quarantined something since: the directory's time and its entry count. */
    private record Quarantine(FileTime changed, long entries) {}

    private final Store store;
    private final Map<Digest, DamageCheck> damageChecks = new ConcurrentHashMap<>();

    public StoreImages(Store store) {
        this.store = store;
    }

    public Store store() {
        return store;
    }

    @Override
    public Optional<ResolvedImage> resolve(String name) throws IOException {
        Optional<Digest> digest = store.ref(name);
        // a ref whose image is gone counts as missing: the build hook can make it again
        if (digest.isEmpty() || !store.hasImage(digest.get())) {
            return Optional.empty();
        }
        return Optional.of(new ResolvedImage(name, digest.get()));
    }

    @Override
    public Optional<String> damage(Digest imageDigest) throws IOException {
        Quarantine quarantine;
        try (Stream<Path> entries = Files.list(store.quarantineDir())) {
            quarantine =
                    new Quarantine(
                            Files.getLastModifiedTime(store.quarantineDir()), entries.count());
        }
        long now = System.nanoTime();
        DamageCheck last = damageChecks.get(imageDigest);
        if (last != null
                && last.quarantine().equals(quarantine)
                && now - last.checkedAtNanos() < DAMAGE_RECHECK.toNanos()
                && store.hasImage(imageDigest)) {
            return last.damage();
        }
        Optional<String> damage = checkDamage(imageDigest);
        damageChecks.put(imageDigest, new DamageCheck(damage, quarantine, now));
        return damage;
    }

    private Optional<String> checkDamage(Digest imageDigest) throws IOException {
        if (!store.hasImage(imageDigest)) {
            return Optional.of(
                    "its image file "
                            + store.imagePath(imageDigest)
                            + " is gone from the node store");
        }
        var list = store.objectList(imageDigest);
        if (list.isEmpty()) {
            return Optional.empty();
        }
        // one stat per object: a quarantined object would otherwise only show up as EIO/ENOENT in
        // the pod
        List<Digest> missing = new ArrayList<>();
        for (Digest o : list.get().digests()) {
            if (!store.objects().contains(o)) {
                missing.add(o);
            }
        }
        if (missing.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(
                missing.size()
                        + " of its objects are missing from the node store (first: "
                        + missing.get(0).objectPath()
                        + "; quarantined by kcfs store fsck, or deleted), so reading those files"
                        + " fails; import the image again");
    }

    @Override
    public Snapshot snapshot() {
        try {
            Store.Stats s = store.stats();
            return new Snapshot(s.objects(), s.objectDiskBytes(), s.logicalBytes());
        } catch (StoreException e) {
            throw new UncheckedIOException(e);
        }
    }
}
