package dev.kcfs.mount;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.store.Store;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.KernelVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one shared-mount stack, on real composefs mounts of a real store. */
@Tag("root")
class SharedMountsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir Path dir;
    Store store;
    MountRecords records;
    SharedMounts shared;
    KernelMounts kernel = new KernelMounts();
    TestImages.Built img;
    Digest image;

    @BeforeEach
    void setUp() throws Exception {
        Root.assumeRoot();
        img = TestImages.build(dir.resolve("build"));
        store = Store.open(dir.resolve("store"));
        image = img.addTo(store);
        records = MountRecords.of(store);
        shared =
                new SharedMounts(
                        records,
                        new StoreImageMounter(
                                store,
                                new ComposefsMounter(
                                        new KernelVerity(),
                                        Files.createDirectories(dir.resolve("scratch")),
                                        false)),
                        kernel);
    }

    @AfterEach
    void unmountLeftovers() throws Exception {
        for (int round = 0; round < 8; round++) {
            for (MountTable.Entry e : MountTable.read().entries()) {
                if (e.mountPoint().startsWith(dir)) {
                    kernel.detach(e.mountPoint());
                }
            }
        }
    }

    private Path bindAt(String name, VerityMode verity) throws Exception {
        Path target = Files.createDirectories(dir.resolve(name));
        shared.acquire(
                image,
                verity,
                WAIT,
                s -> {
                    kernel.bindReadOnly(s.target(), target);
                    return null;
                });
        return target;
    }

    @Test
    void aStricterRequestIsRefusedWhileAWeakerMountIsInUse() throws Exception {
        Path t1 = bindAt("t1", VerityMode.OFF);
        assertThat(records.verity(image)).contains(VerityMode.OFF);

        Path t2 = Files.createDirectories(dir.resolve("t2"));
        assertThatThrownBy(
                        () ->
                                shared.acquire(
                                        image,
                                        VerityMode.IF_SUPPORTED,
                                        WAIT,
                                        s -> {
                                            kernel.bindReadOnly(s.target(), t2);
                                            return null;
                                        }))
                .isInstanceOfSatisfying(
                        MountException.class,
                        e -> {
                            assertThat(e.kind()).isEqualTo(MountException.Kind.REFUSED);
                            assertThat(e.getMessage())
                                    .contains(image.hex())
                                    .contains("verity off")
                                    .contains(t1.toString())
                                    .contains("not served from a weaker mount");
                        });
        assertThat(MountTable.read().isMountPoint(t2)).isFalse();
        assertThat(Files.readAllBytes(t1.resolve("dir/big.bin")))
                .as("the user of the weaker mount keeps it")
                .isEqualTo(img.big());
        assertThat(records.verity(image)).contains(VerityMode.OFF);
    }

    @Test
    void aWeakerRequestIsServedByTheStricterMount() throws Exception {
        Path t1 = bindAt("t1", VerityMode.IF_SUPPORTED);
        assertThat(records.verity(image)).get().isIn(VerityMode.IF_SUPPORTED, VerityMode.REQUIRED);
        Path t2 = bindAt("t2", VerityMode.OFF);
        assertThat(MountTable.read().count(records.pathOf(image)))
                .as("one shared mount")
                .isEqualTo(1);
        assertThat(Files.getAttribute(t2.resolve("dir/big.bin"), "unix:dev"))
                .isEqualTo(Files.getAttribute(t1.resolve("dir/big.bin"), "unix:dev"));
    }

    @Test
    void anUnusedWeakerMountIsReplacedByAStricterOne() throws Exception {
        shared.acquire(image, VerityMode.OFF, WAIT, s -> null); // made, but nothing bound to it
        assertThat(records.verity(image)).contains(VerityMode.OFF);
        Path t = bindAt("t", VerityMode.IF_SUPPORTED);
        assertThat(records.verity(image)).get().isIn(VerityMode.IF_SUPPORTED, VerityMode.REQUIRED);
        assertThat(MountTable.read().count(records.pathOf(image)))
                .as("the weaker one is gone, not underneath")
                .isEqualTo(1);
        assertThat(Files.readString(t.resolve("small.txt"))).isEqualTo("hello\n");
    }

    @Test
    void aMountWithoutARecordedModeCountsAsOff() throws Exception {
        bindAt("t1", VerityMode.IF_SUPPORTED);
        // as an older kcfs, or a crash between mounting and recording, leaves it
        Files.delete(store.mountPoint(image).resolveSibling(image.hex() + ".note"));
        assertThat(records.verity(image)).isEmpty();
        assertThatThrownBy(() -> bindAt("t2", VerityMode.IF_SUPPORTED))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("verity off");
        bindAt("t3", VerityMode.OFF);
    }

    @Test
    void requiredVerityIsEnforcedOrRefusedLeavingNothing() throws Exception {
        Path t = Files.createDirectories(dir.resolve("t"));
        try {
            shared.acquire(
                    image,
                    VerityMode.REQUIRED,
                    WAIT,
                    s -> {
                        kernel.bindReadOnly(s.target(), t);
                        return null;
                    });
            // a kernel and store with fs-verity: the mount enforces it
            assertThat(records.verity(image)).contains(VerityMode.REQUIRED);
            assertThat(MountTable.read().at(records.pathOf(image)).orElseThrow().superOptions())
                    .contains("verity=require");
        } catch (MountException e) {
            assertThat(e.getMessage()).contains("verity was required");
            assertThat(store.mountRecords()).isEmpty();
            assertThat(records.verity(image)).isEmpty();
            assertThat(MountTable.read().isMountPoint(records.pathOf(image))).isFalse();
        }
    }

    @Test
    void releaseWaitsUntilTheBindIsMadeAndThenKeepsTheMount() throws Exception {
        Path t = Files.createDirectories(dir.resolve("t"));
        CompletableFuture<List<Digest>> release = new CompletableFuture<>();
        shared.acquire(
                image,
                VerityMode.OFF,
                WAIT,
                s -> {
                    // `kcfs store gc` or an unpublish in another thread, between "shared mount
                    // ready" and "bound"
                    new Thread(
                                    () -> {
                                        try {
                                            release.complete(shared.releaseUnused(WAIT));
                                        } catch (Exception e) {
                                            release.completeExceptionally(e);
                                        }
                                    })
                            .start();
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                    assertThat(release).as("release must wait for the lock").isNotDone();
                    kernel.bindReadOnly(s.target(), t);
                    return null;
                });
        assertThat(release.get(10, TimeUnit.SECONDS)).as("the bind uses it").isEmpty();
        assertThat(Files.readAllBytes(t.resolve("dir/big.bin"))).isEqualTo(img.big());
        assertThat(store.mountRecords()).containsExactly(image);
    }

    @Test
    void aFailedBindReleasesTheSharedMountItMade() throws Exception {
        assertThatThrownBy(
                        () ->
                                shared.acquire(
                                        image,
                                        VerityMode.OFF,
                                        WAIT,
                                        s -> {
                                            throw new MountException("bind failed (test)");
                                        }))
                .hasMessage("bind failed (test)");
        assertThat(MountTable.read().isMountPoint(records.pathOf(image))).isFalse();
        assertThat(store.mountRecords()).isEmpty();
    }

    @Test
    void aBusyLockIsReportedAsBusy() throws Exception {
        try (MountRecords.Held held = records.lock(WAIT)) {
            CompletableFuture<Throwable> other =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    shared.acquire(
                                            image,
                                            VerityMode.OFF,
                                            Duration.ofMillis(200),
                                            s -> null);
                                    return null;
                                } catch (Exception e) {
                                    return e;
                                }
                            });
            assertThat(other.get(10, TimeUnit.SECONDS))
                    .isInstanceOfSatisfying(
                            MountException.class,
                            e -> assertThat(e.kind()).isEqualTo(MountException.Kind.BUSY));
        }
    }
}
