package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.kcfs;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.mount.KernelMounts;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kcfs store …}, {@code kcfs mount} and {@code kcfs umount} against a real store. */
class StoreCommandsTest {
    @TempDir Path dir;

    private Path tree(String name, int seed, byte[] shared) throws Exception {
        Path src = Files.createDirectories(dir.resolve(name).resolve("sub"));
        Random r = new Random(seed);
        byte[] own = new byte[100_000];
        r.nextBytes(own);
        Files.write(src.resolve("own.bin"), own);
        Files.write(src.resolve("shared.bin"), shared);
        Files.writeString(src.resolve("small.txt"), "inline " + name);
        return src.getParent();
    }

    private static String digestOf(CliRun run) {
        assertThat(run.rc()).as(run.toString()).isZero();
        return run.outText().strip();
    }

    @Test
    void addStatsRefsFsckAndGcKeepWhatIsReferenced() throws Exception {
        byte[] shared = new byte[300_000];
        new Random(7).nextBytes(shared);
        Path a = tree("a", 1, shared);
        Path b = tree("b", 2, shared);
        String store = dir.resolve("store").toString();

        String da = digestOf(kcfs("store", "--store", store, "add", "--name", "a", a.toString()));
        String db = digestOf(kcfs("store", "add", "--store", store, "--name", "b", b.toString()));
        assertThat(da).isNotEqualTo(db).hasSize(64);
        // the image is named by its own fs-verity digest
        assertThat(FsVerity.digest(Path.of(store, "images", da + ".cfs")).hex()).isEqualTo(da);
        // two own bodies + one shared body: the shared file is stored once
        try (Stream<Path> objects = Files.walk(Path.of(store, "objects"))) {
            assertThat(objects.filter(Files::isRegularFile).count()).isEqualTo(3);
        }
        assertThat(
                        Files.readAllBytes(
                                Path.of(store, "objects", FsVerity.digest(shared).objectPath())))
                .isEqualTo(shared);

        CliRun refs = kcfs("store", "--store", store, "refs");
        assertThat(refs.outText()).isEqualTo("a " + da + "\nb " + db + "\n");
        CliRun stats = kcfs("store", "--store", store, "stats");
        assertThat(stats.outText())
                .contains("objects:        3 ")
                .contains("images:         2 ")
                .contains("dedup ratio:    1.60");
        assertThat(kcfs("store", "--store", store, "fsck").outText())
                .contains("checked 3 objects and 2 images")
                .endsWith("clean\n");

        // dropping ref b lets gc remove image b and its own object, but not the shared one
        assertThat(kcfs("store", "--store", store, "refs", "rm", "b").rc()).isZero();
        CliRun dry = kcfs("store", "--store", store, "gc", "--dry-run");
        assertThat(dry.outText()).startsWith("1 images and 1 objects would be removed");
        assertThat(Files.exists(Path.of(store, "images", db + ".cfs"))).isTrue();
        CliRun gc = kcfs("store", "--store", store, "gc");
        assertThat(gc.outText()).as(gc.toString()).startsWith("1 images and 1 objects removed");
        assertThat(Files.exists(Path.of(store, "images", db + ".cfs"))).isFalse();
        assertThat(
                        Files.readAllBytes(
                                Path.of(store, "objects", FsVerity.digest(shared).objectPath())))
                .isEqualTo(shared);
        assertThat(kcfs("store", "--store", store, "fsck").outText()).endsWith("clean\n");

        // a damaged object is reported, quarantined and fsck fails
        Path victim = Path.of(store, "objects", FsVerity.digest(shared).objectPath());
        byte[] bad = shared.clone();
        bad[10] ^= 1;
        Files.write(victim, bad);
        CliRun fsck = kcfs("store", "--store", store, "fsck");
        assertThat(fsck.rc()).isEqualTo(1);
        assertThat(fsck.outText())
                .contains("quarantined: ")
                .contains("image " + da + " misses 1 objects");
        assertThat(Files.exists(victim)).isFalse();
    }

    @Test
    void badInputIsNamed() throws Exception {
        String store = dir.resolve("store").toString();
        CliRun missing = kcfs("store", "--store", store, "add", dir.resolve("nope").toString());
        assertThat(missing.rc()).isEqualTo(1);
        assertThat(missing.err()).contains("nope");
        dev.kcfs.store.Store.open(Path.of(store));
        CliRun unknownRef = kcfs("store", "--store", store, "refs", "rm", "ghost");
        assertThat(unknownRef.rc()).isEqualTo(1);
        assertThat(unknownRef.err()).contains("no ref named 'ghost'");
        CliRun badVersion =
                kcfs("store", "--store", store, "add", "--format-version", "7", dir.toString());
        assertThat(badVersion.rc()).isEqualTo(1);
        assertThat(badVersion.err()).contains("--format-version must be from 0 to 1, got");
        CliRun noCommand = kcfs("store", "--store", store);
        assertThat(noCommand.rc()).isNotZero();
    }

    @Test
    @Tag("root")
    void mountFromStoreAndUmountReleasesTheSharedMount() throws Exception {
        Root.assumeRoot();
        byte[] shared = new byte[50_000];
        new Random(9).nextBytes(shared);
        Path a = tree("a", 1, shared);
        String store = dir.resolve("store").toString();
        String da = digestOf(kcfs("store", "--store", store, "add", "--name", "a", a.toString()));
        Path target = Files.createDirectories(dir.resolve("mnt"));

        CliRun mount = kcfs("mount", "--store", store, "a", target.toString());
        assertThat(mount.rc()).as(mount.toString()).isZero();
        try {
            assertThat(Files.readAllBytes(target.resolve("sub/shared.bin"))).isEqualTo(shared);
            assertThat(Files.readString(target.resolve("sub/small.txt"))).isEqualTo("inline a");
            assertThat(Files.readString(Path.of("/proc/self/mountinfo")))
                    .contains(Path.of(store, "mounts", da).toString());
        } finally {
            CliRun umount = kcfs("umount", "--store", store, target.toString());
            assertThat(umount.rc()).as(umount.toString()).isZero();
            assertThat(umount.err()).contains("released the shared mount of image " + da);
        }
        String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
        assertThat(mountinfo)
                .doesNotContain(target.toString())
                .doesNotContain(Path.of(store, "mounts").toString());

        // image file + explicit basedir, as upstream mount.composefs, with a pinned digest check
        Path image = Path.of(store, "images", da + ".cfs");
        String objects = Path.of(store, "objects").toString();
        CliRun wrongDigest =
                kcfs(
                        "mount",
                        "-o",
                        "basedir=" + objects + ",digest=" + "00".repeat(32),
                        image.toString(),
                        target.toString());
        assertThat(wrongDigest.rc()).isEqualTo(1);
        assertThat(Files.readString(Path.of("/proc/self/mountinfo")))
                .doesNotContain(target.toString());
        CliRun plain =
                kcfs("mount", "-o", "basedir=" + objects, image.toString(), target.toString());
        assertThat(plain.rc()).as(plain.toString()).isZero();
        try {
            assertThat(Files.readAllBytes(target.resolve("sub/own.bin")))
                    .isEqualTo(Files.readAllBytes(a.resolve("sub/own.bin")));
        } finally {
            assertThat(kcfs("umount", target.toString()).rc()).isZero();
        }
        assertThat(Digest.parse(da)).isEqualTo(FsVerity.digest(image));
    }

    @Test
    @Tag("root")
    void staleMountRecordsAreCheckedAgainstTheMountTableAndUmountFindsTheStore() throws Exception {
        Root.assumeRoot();
        String store = dir.resolve("store").toString();
        String da =
                digestOf(
                        kcfs(
                                "store",
                                "--store",
                                store,
                                "add",
                                "--name",
                                "a",
                                tree("a", 1, new byte[20_000]).toString()));
        String db =
                digestOf(
                        kcfs(
                                "store",
                                "--store",
                                store,
                                "add",
                                "--name",
                                "b",
                                tree("b", 2, new byte[30_000]).toString()));
        Path t1 = Files.createDirectories(dir.resolve("t1"));
        assertThat(kcfs("mount", "--store", store, "a", t1.toString()).rc()).isZero();
        // the mounts vanish without kcfs (a reboot, a mount namespace that is gone): the record
        // stays
        new KernelMounts().detach(t1);
        new KernelMounts().detach(Path.of(store, "mounts", da));
        assertThat(Path.of(store, "mounts", da)).isDirectory();

        CliRun stats = kcfs("store", "--store", store, "stats");
        assertThat(stats.outText()).contains("mounts:         0 (1 stale mount record(s)");
        assertThat(kcfs("store", "--store", store, "refs", "rm", "a").rc()).isZero();
        CliRun dry = kcfs("store", "--store", store, "gc", "--dry-run");
        assertThat(dry.err())
                .contains(
                        "would release the unused shared mount (or stale mount record) of image "
                                + da);
        CliRun real = kcfs("store", "--store", store, "gc");
        assertThat(real.rc()).as(real.toString()).isZero();
        assertThat(dry.outText())
                .as("the dry run reports what the run then removes")
                .isEqualTo(real.outText().replace(" removed", " would be removed"))
                .contains("1 images");
        assertThat(Path.of(store, "images", da + ".cfs")).doesNotExist();

        // umount without --store finds the store from the mount table
        Path t2 = Files.createDirectories(dir.resolve("t2"));
        Path t3 = Files.createDirectories(dir.resolve("t3"));
        assertThat(kcfs("mount", "--store", store, "b", t2.toString()).rc()).isZero();
        assertThat(kcfs("mount", "--store", store, "b", t3.toString()).rc()).isZero();
        CliRun first = kcfs("umount", t2.toString());
        assertThat(first.rc()).as(first.toString()).isZero();
        assertThat(first.err())
                .contains(
                        "the shared mount "
                                + Path.of(store, "mounts", db)
                                + " stays: 1 other mount(s) use it");
        CliRun last = kcfs("umount", t3.toString());
        assertThat(last.err()).contains("released the shared mount of image " + db);
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(store);
        assertThat(Path.of(store, "mounts", db)).doesNotExist();
    }
}
