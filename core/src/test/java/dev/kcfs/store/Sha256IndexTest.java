package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's sha256 -> object index: written on commit only, followed by GC, rebuilt by fsck. */
class Sha256IndexTest {
    @TempDir Path dir;

    private static byte[] body(long seed) {
        byte[] b = new byte[3000 + (int) seed];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] sha(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    private Path entry(Store store, byte[] content) throws Exception {
        String hex = HexFormat.of().formatHex(sha(content));
        return store.root()
                .resolve("index/sha256")
                .resolve(hex.substring(0, 2))
                .resolve(hex.substring(2));
    }

    @Test
    void entriesAppearOnlyWhenTheBatchCommits() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        byte[] a = body(1);
        byte[] b = body(2);
        try (ObjectDirectory.Batch batch = store.objects().batch()) {
            batch.addStream(new ByteArrayInputStream(a));
            assertThat(store.objects().index().lookup(sha(a), store.objects())).isEmpty();
        } // closed without commit: nothing stored, nothing indexed
        assertThat(store.objects().index().lookup(sha(a), store.objects())).isEmpty();
        assertThat(entry(store, a)).doesNotExist();

        Path source = dir.resolve("b");
        Files.write(source, b);
        try (ObjectDirectory.Batch batch = store.objects().batch()) {
            batch.addStream(new ByteArrayInputStream(a));
            batch.addFile(source, FsVerity.digest(b));
            batch.commit();
        }
        assertThat(store.objects().index().lookup(sha(a), store.objects()))
                .contains(FsVerity.digest(a));
        assertThat(store.objects().index().lookup(sha(b), store.objects()))
                .contains(FsVerity.digest(b));
        assertThat(store.objects().index().lookup(sha(body(3)), store.objects())).isEmpty();
    }

    @Test
    void gcDropsEntriesOfCollectedObjectsAndALookupNeverReturnsAMissingObject() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        byte[] kept = body(1);
        byte[] dropped = body(2);
        Digest k;
        try (Store.Lease lease = store.lease("test");
                ObjectDirectory.Batch batch = store.objects().batch()) {
            k = batch.addStream(new ByteArrayInputStream(kept));
            batch.addStream(new ByteArrayInputStream(dropped));
            batch.commit();
            Digest img =
                    store.addImage(
                            new ByteArrayInputStream(body(99)),
                            ObjectList.of(List.of(k), kept.length));
            store.setRef("r", img);
        }
        assertThat(store.objects().index().lookup(sha(dropped), store.objects()))
                .contains(FsVerity.digest(dropped));
        assertThat(store.gc(false, Duration.ZERO).objectsRemoved()).isEqualTo(1);
        assertThat(Files.exists(entry(store, dropped), java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .isFalse();
        // an entry whose object vanished behind the store's back is not trusted
        Files.delete(store.objects().path(k));
        assertThat(entry(store, kept)).isSymbolicLink();
        assertThat(store.objects().index().lookup(sha(kept), store.objects())).isEmpty();
    }

    @Test
    void fsckRebuildsLostAndWrongEntries() throws Exception {
        Store store = Store.open(dir.resolve("s"));
        byte[] a = body(1);
        byte[] b = body(2);
        Digest da;
        Digest db;
        try (ObjectDirectory.Batch batch = store.objects().batch()) {
            da = batch.addStream(new ByteArrayInputStream(a));
            db = batch.addStream(new ByteArrayInputStream(b));
            batch.commit();
        }
        Files.delete(entry(store, a)); // lost (as after a crash, or objects of an older kcfs)
        Files.delete(entry(store, b));
        Files.createSymbolicLink(entry(store, b), Path.of(da.hex())); // points at the wrong object
        Path junk = store.root().resolve("index/sha256/00/" + "0".repeat(62));
        Files.createDirectories(junk.getParent());
        Files.createSymbolicLink(junk, Path.of(da.hex()));

        Store.FsckReport report = store.fsck(false, 2);
        assertThat(report.objectsChecked()).isEqualTo(2);
        assertThat(store.objects().index().lookup(sha(a), store.objects())).contains(da);
        assertThat(store.objects().index().lookup(sha(b), store.objects())).contains(db);
        assertThat(Files.exists(junk, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
    }
}
