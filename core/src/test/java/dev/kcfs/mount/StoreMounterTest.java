package dev.kcfs.mount;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.store.Store;
import dev.kcfs.store.StoreException;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.KernelVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("root")
class StoreMounterTest {
    @TempDir Path dir;
    Store store;
    StoreMounter mounts;
    TestImages.Built img;
    Digest image;

    @BeforeEach
    void setUp() throws Exception {
        Root.assumeRoot();
        img = TestImages.build(dir.resolve("build"));
        store = Store.open(dir.resolve("store"));
        image = img.addTo(store);
        store.setRef("example.org/app:1", image);
        mounts =
                new StoreMounter(
                        store,
                        new ComposefsMounter(
                                new KernelVerity(),
                                Files.createDirectories(dir.resolve("scratch")),
                                false));
    }

    @Test
    void sharedMountWithBindsPinsTheImageUntilReleased() throws Exception {
        Path t1 = Files.createDirectories(dir.resolve("t1"));
        Path t2 = Files.createDirectories(dir.resolve("t2"));
        mounts.mount("example.org/app:1", t1, VerityMode.OFF);
        mounts.mount(image.hex(), t2, VerityMode.OFF);
        assertThat(Files.readAllBytes(t1.resolve("dir/big.bin"))).isEqualTo(img.big());
        assertThat(Files.readAllBytes(t2.resolve("dir/big.bin"))).isEqualTo(img.big());
        assertThat(Files.getAttribute(t1.resolve("dir/big.bin"), "unix:dev"))
                .as("one overlay, two binds")
                .isEqualTo(Files.getAttribute(t2.resolve("dir/big.bin"), "unix:dev"));
        assertThat(Files.readString(t1.resolve("small.txt"))).isEqualTo("hello\n");
        for (Path m : new Path[] {t1, t2, store.mountPoint(image)}) {
            MountTable.Entry e = MountTable.read().at(m).orElseThrow();
            assertThat(e.hasOption("nosuid") && e.hasOption("nodev") && e.hasOption("ro"))
                    .as("%s: %s", m, e.options())
                    .isTrue();
        }

        store.removeRef("example.org/app:1");
        Store.GcReport gc = store.gc(false, Duration.ZERO);
        assertThat(gc.imagesRemoved()).as("mounted image kept").isZero();
        assertThat(store.objects().contains(img.bigDigest())).isTrue();

        mounts.unmount(t1);
        assertThat(mounts.releaseUnused()).as("t2 still uses it").isEmpty();
        mounts.unmount(t2);
        assertThat(mounts.releaseUnused()).containsExactly(image);
        assertThat(store.mountPoint(image)).doesNotExist();
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .noneMatch(l -> l.contains(dir.toString()));
        assertThat(store.gc(false, Duration.ZERO).objectsRemoved()).isEqualTo(1);
    }

    @Test
    void missingObjectIsRefusedBeforeMounting() throws Exception {
        Files.delete(store.objects().path(img.bigDigest()));
        Path t = Files.createDirectories(dir.resolve("t"));
        assertThatThrownBy(() -> mounts.mount("example.org/app:1", t, VerityMode.OFF))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("missing")
                .hasMessageContaining(img.bigDigest().objectPath())
                .hasMessageContaining("nothing was mounted");
        assertThat(store.mountRecords()).isEmpty();
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void staleRecordsAreReleasedAndUnknownNamesFailClearly() throws Exception {
        store.recordMount(image); // as left behind by a reboot: a record, nothing mounted
        assertThat(mounts.releaseUnused()).containsExactly(image);
        Path t = Files.createDirectories(dir.resolve("t"));
        assertThatThrownBy(() -> mounts.mount("nope:1", t, VerityMode.OFF))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("nope:1");
        assertThat(store.mountRecords()).isEmpty();
    }
}
