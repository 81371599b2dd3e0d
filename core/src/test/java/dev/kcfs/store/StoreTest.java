package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreTest {
    @TempDir Path dir;

    private static byte[] body(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Adds objects with these seeds and an "image" (arbitrary bytes here) referring to them. */
    static Digest importImage(Store store, String ref, long imageSeed, long... objectSeeds)
            throws Exception {
        try (Store.Lease lease = store.lease("import " + ref)) {
            List<Digest> ds = new ArrayList<>();
            long logical = 0;
            try (ObjectDirectory.Batch b = store.objects().batch()) {
                for (long s : objectSeeds) {
                    byte[] content = body(s, 1000 + (int) s * 10);
                    ds.add(b.addStream(new ByteArrayInputStream(content)));
                    logical += content.length;
                }
                b.commit();
            }
            Digest img =
                    store.addImage(
                            new ByteArrayInputStream(body(imageSeed + 100000, 8192)),
                            ObjectList.of(ds, logical));
            if (ref != null) {
                store.setRef(ref, img);
            }
            return img;
        }
    }

    @Test
    void createsLayoutWithMetadataAndReopens() throws Exception {
        Path root = dir.resolve("s");
        Store.open(root);
        for (String d :
                List.of("objects", "images", "refs", "mounts", "leases", "quarantine", "tmp")) {
            assertThat(root.resolve(d)).isDirectory();
        }
        assertThat(Files.readString(root.resolve(Store.META)))
                .contains("format=1")
                .contains("digest=fs-verity-sha256-4096");
        Store.open(root);
    }

    @Test
    void refusesNewerFormatOtherAlgorithmAndForeignDirectories() throws Exception {
        Path root = dir.resolve("s");
        Store.open(root);
        Path meta = root.resolve(Store.META);
        String good = Files.readString(meta);
        Files.writeString(meta, good.replace("format=1", "format=2"));
        assertThatThrownBy(() -> Store.open(root))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("format 2 is newer");
        Files.writeString(meta, good.replace("fs-verity-sha256-4096", "sha512"));
        assertThatThrownBy(() -> Store.open(root))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("sha512");
        Path foreign = Files.createDirectories(dir.resolve("home"));
        Files.writeString(foreign.resolve("notes.txt"), "x");
        assertThatThrownBy(() -> Store.open(foreign))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("not a kcfs store");
        assertThat(foreign.resolve("objects")).doesNotExist();
    }

    @Test
    void imagesAreNamedByTheirDigestAndKeepTheirObjectList() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        byte[] image = body(5, 20000);
        Digest obj = FsVerity.digest(body(1, 10));
        Digest d =
                store.addImage(new ByteArrayInputStream(image), ObjectList.of(List.of(obj), 12345));
        assertThat(d).isEqualTo(FsVerity.digest(image));
        assertThat(Files.readAllBytes(store.imagePath(d))).isEqualTo(image);
        assertThat(store.objectList(d)).contains(ObjectList.of(List.of(obj), 12345));
        assertThat(store.images()).containsOnlyKeys(d);
        Object inode = Files.getAttribute(store.imagePath(d), "unix:ino");
        assertThat(
                        store.addImage(
                                new ByteArrayInputStream(image),
                                ObjectList.of(List.of(obj), 12345)))
                .isEqualTo(d);
        assertThat(Files.getAttribute(store.imagePath(d), "unix:ino"))
                .as("existing image kept")
                .isEqualTo(inode);
    }

    @Test
    void refsRoundTripOddNames() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        Digest img = importImage(store, null, 1, 1);
        List<String> names =
                List.of(
                        "docker.io/library/nginx:1.25",
                        ".hidden",
                        "..",
                        "a%b",
                        "ünï cødé",
                        "plain-name_1.0");
        for (String n : names) {
            store.setRef(n, img);
        }
        assertThat(store.refs()).containsOnlyKeys(names);
        try (var s = Files.list(store.root().resolve("refs"))) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .allMatch(f -> f.matches("[A-Za-z0-9_.%-]+") && !f.startsWith("."));
        }
        assertThat(store.resolve("docker.io/library/nginx:1.25")).isEqualTo(img);
        assertThat(store.resolve(img.hex())).isEqualTo(img);
        assertThat(store.removeRef("..")).isTrue();
        assertThat(store.ref("..")).isEmpty();
        assertThatThrownBy(() -> store.resolve("nope:latest"))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("nope:latest");
        Digest absent = FsVerity.digest(new byte[] {9});
        assertThatThrownBy(() -> store.setRef("x", absent))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("not in the store");
    }

    @Test
    void gcRemovesWhatNoRefOrMountReachesAndDryRunOnlyReports() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        Digest a = importImage(store, "a", 1, 1, 2, 3);
        Digest b = importImage(store, "b", 2, 3, 4, 5);
        Digest c = importImage(store, "c", 3, 6);
        store.removeRef("b");
        store.removeRef("c");
        store.recordMount(c);

        Store.GcReport dry = store.gc(true, Duration.ZERO);
        assertThat(dry.ran()).isTrue();
        assertThat(dry.imagesRemoved()).isEqualTo(1);
        assertThat(dry.objectsRemoved()).as("4 and 5 only; 3 is shared with a").isEqualTo(2);
        assertThat(store.hasImage(b)).isTrue();
        assertThat(store.stats().objects()).isEqualTo(6);

        Store.GcReport real = store.gc(false, Duration.ZERO);
        assertThat(real)
                .isEqualTo(
                        new Store.GcReport(true, false, 1, 2, dry.bytesFreed(), 2, 4, List.of()));
        assertThat(store.hasImage(a)).isTrue();
        assertThat(store.hasImage(b)).isFalse();
        assertThat(store.hasImage(c)).as("pinned by its mount record").isTrue();
        for (Digest o : store.objectList(a).orElseThrow().digests()) {
            assertThat(store.objects().contains(o)).isTrue();
        }
        store.removeMountRecord(c);
        assertThat(store.gc(false, Duration.ZERO).objectsRemoved()).isEqualTo(1);
        assertThat(store.fsck(false, 2).clean()).isTrue();
    }

    @Test
    void gcWaitsForLeasesAndNamesThem() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        importImage(store, null, 1, 1);
        try (Store.Lease lease = store.lease("import of example:1")) {
            Store.GcReport r = store.gc(false, Duration.ofMillis(100));
            assertThat(r.ran()).isFalse();
            assertThat(r.warnings()).anyMatch(w -> w.contains("import of example:1"));
        }
        assertThat(store.gc(false, Duration.ZERO).imagesRemoved()).isEqualTo(1);
    }

    @Test
    void gcKeepsAllObjectsWhenAnImageHasNoObjectListAndUsesTheReaderWhenGiven() throws Exception {
        Path root = dir.resolve("s");
        Store store = Store.open(root, ImageObjects.NONE);
        Digest a = importImage(store, "a", 1, 1, 2);
        importImage(store, null, 2, 3); // unreferenced: its object 3 is garbage
        Path list = root.resolve("images").resolve(a.hex() + ".objects");
        byte[] saved = Files.readAllBytes(list);
        Files.delete(list);
        Store.GcReport r = store.gc(false, Duration.ZERO);
        assertThat(r.objectsRemoved()).isZero();
        assertThat(r.warnings()).anyMatch(w -> w.contains(a.hex()) && w.contains("no object list"));

        Store withReader = Store.open(root, image -> ObjectList.decode(saved, "test"));
        assertThat(withReader.gc(false, Duration.ZERO).objectsRemoved()).isEqualTo(1);
        Store.FsckReport f = withReader.fsck(false, 1);
        assertThat(f.problems()).anyMatch(p -> p.contains("no object list"));
        assertThat(list).as("rebuilt by fsck from the reader").exists();
        assertThat(Store.open(root).fsck(false, 1).clean()).isTrue();
    }

    @Test
    void fsckQuarantinesTamperedObjectsAndImagesAndListsMissingObjects() throws Exception {
        Path root = dir.resolve("s");
        Store store = Store.open(root);
        Digest a = importImage(store, "a", 1, 1, 2);
        Digest b = importImage(store, "b", 2, 3);
        Digest victim = store.objectList(a).orElseThrow().digests().get(0);
        Path obj = store.objects().path(victim);
        try (var ch = java.nio.channels.FileChannel.open(obj, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {42}), 10);
        }
        try (var ch =
                java.nio.channels.FileChannel.open(store.imagePath(b), StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {42}), 100);
        }
        Files.writeString(
                root.resolve("objects").resolve(victim.hex().substring(0, 2)).resolve("junk"), "x");

        Store.FsckReport dry = store.fsck(true, 2);
        assertThat(dry.quarantined()).hasSize(3);
        assertThat(obj).exists();

        Store.FsckReport r = store.fsck(false, 2);
        assertThat(r.objectsChecked()).isEqualTo(3);
        assertThat(r.imagesChecked()).isEqualTo(2);
        assertThat(r.quarantined())
                .hasSize(3)
                .allMatch(p -> p.startsWith(root.resolve("quarantine")));
        assertThat(obj).doesNotExist();
        assertThat(store.hasImage(b)).isFalse();
        assertThat(r.missingObjects()).containsOnlyKeys(a);
        assertThat(r.missingObjects().get(a)).containsExactly(victim);
        assertThat(r.problems()).anyMatch(p -> p.contains("tampered"));

        Store.FsckReport again = store.fsck(false, 2);
        assertThat(again.quarantined()).isEmpty();
        assertThat(again.problems())
                .anyMatch(p -> p.contains("ref 'b'") && p.contains("missing image"));
    }

    @Test
    void statsCountObjectsImagesAndDedup() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        importImage(store, "a", 1, 1, 2, 3);
        importImage(store, "b", 2, 1, 2, 3);
        Store.Stats s = store.stats();
        long objectBytes = 3 * 1000 + 10 * (1 + 2 + 3);
        assertThat(s.objects()).isEqualTo(3);
        assertThat(s.objectBytes()).isEqualTo(objectBytes);
        assertThat(s.objectDiskBytes()).isGreaterThanOrEqualTo(objectBytes);
        assertThat(s.images()).isEqualTo(2);
        assertThat(s.imageBytes()).isEqualTo(2 * 8192);
        assertThat(s.logicalBytes()).isEqualTo(2 * objectBytes);
        assertThat(s.dedupRatio()).isEqualTo(2.0);
        assertThat(s.refs()).isEqualTo(2);
    }

    @Test
    void staleTemporariesAndLeasesOfCrashedProcessesAreCleaned() throws Exception {
        Path root = dir.resolve("s");
        Store.open(root);
        Files.createDirectories(root.resolve("tmp/image-123")).resolve("image");
        Files.writeString(root.resolve("leases/lease-999"), "pid 1: crashed import");
        Store store = Store.open(root);
        try (var s = Files.list(root.resolve("tmp"))) {
            assertThat(s.filter(p -> !p.getFileName().toString().equals(Scratch.USERS_LOCK)))
                    .isEmpty();
        }
        assertThat(store.gc(false, Duration.ZERO).ran()).isTrue();
        assertThat(root.resolve("leases/lease-999")).doesNotExist();
    }
}
