package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.publishWritable;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.MountTable;
import dev.kcfs.mount.StoreImageMounter;
import dev.kcfs.mount.StoreMounter;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.ImagePolicy;
import dev.kcfs.store.Store;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.KernelVerity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real thing: composefs images built into a real store, mounted by the plugin over gRPC. */
@Tag("root")
class ComposefsPublishTest {
    @TempDir Path tmp;
    Store store;
    CsiTestNode node;
    byte[] big;
    Digest digest;

    @BeforeEach
    void start() throws Exception {
        Root.assumeRoot();
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Files.createDirectories(tree.resolve("usr/bin"));
        Files.writeString(tree.resolve("hello.txt"), "hello from composefs\n");
        big = new byte[300_000];
        new Random(42).nextBytes(big);
        Files.write(tree.resolve("usr/bin/tool"), big);
        Files.setAttribute(
                tree.resolve("usr/bin/tool"), "unix:mode", 04755); // setuid, as images have them
        Files.createSymbolicLink(tree.resolve("link"), Path.of("hello.txt"));
        store = Store.open(tmp.resolve("node/store"));
        digest = ComposefsImages.build(store, tree, "tools");

        node = new CsiTestNode(tmp.resolve("node"), null);
        node.parts =
                NodePlugin.Parts.overStore(new StoreImages(store))
                        .mounter(
                                new StoreImageMounter(
                                        store,
                                        new ComposefsMounter(
                                                new KernelVerity(),
                                                Files.createDirectories(tmp.resolve("scratch")),
                                                false)))
                        .policy(ImagePolicy.standalone(VerityMode.IF_SUPPORTED));
        node.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void publishesReadOnlyAndWritableVolumesOfOneSharedComposefsMount() throws Exception {
        Path ro = node.target("pod-ro");
        Path rw = node.target("pod-rw");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        node.node().nodePublishVolume(publishWritable("vol-rw", rw, "tools").build());

        Path shared = store.mountPoint(digest);
        assertThat(MountTable.read().at(shared).orElseThrow().fsType()).isEqualTo("overlay");
        assertThat(MountTable.read().count(shared)).isEqualTo(1);
        assertThat(store.mountRecords()).containsExactly(digest);
        for (Path t : new Path[] {ro, rw}) {
            assertThat(Files.readString(t.resolve("hello.txt")))
                    .isEqualTo("hello from composefs\n");
            assertThat(Files.readAllBytes(t.resolve("usr/bin/tool"))).isEqualTo(big);
            assertThat(Files.readSymbolicLink(t.resolve("link"))).isEqualTo(Path.of("hello.txt"));
        }
        assertThatThrownBy(() -> Files.writeString(ro.resolve("x"), "x"))
                .isInstanceOf(IOException.class);
        Files.writeString(rw.resolve("usr/bin/tool"), "patched");
        assertThat(Files.readString(rw.resolve("usr/bin/tool"))).isEqualTo("patched");
        assertThat(Files.readAllBytes(ro.resolve("usr/bin/tool")))
                .as("the image is untouched")
                .isEqualTo(big);
        assertThat(Files.readAllBytes(store.objects().path(dev.kcfs.verity.FsVerity.digest(big))))
                .as("the store object is untouched")
                .isEqualTo(big);

        node.node().nodeUnpublishVolume(unpublish("vol-rw", rw));
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
        assertThat(MountTable.read().isMountPoint(shared)).isFalse();
        assertThat(store.mountRecords()).as("GC may collect the image again").isEmpty();
        assertThat(MountTable.read().entries().stream().filter(e -> e.mountPoint().startsWith(tmp)))
                .isEmpty();
    }

    @Test
    void setuidProgramsOfTheImageShowButTakeNoEffectAndTheStoreIsPrivate() throws Exception {
        Path ro = node.target("pod-ro");
        Path rw = node.target("pod-rw");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        node.node().nodePublishVolume(publishWritable("vol-rw", rw, "tools").build());
        for (Path mount : new Path[] {ro, rw, store.mountPoint(digest)}) {
            assertThat((int) Files.getAttribute(mount.resolve("usr/bin/tool"), "unix:mode") & 07777)
                    .as("stat in %s shows the image's mode", mount)
                    .isEqualTo(04755);
            MountTable.Entry entry = MountTable.read().at(mount).orElseThrow();
            assertThat(entry.hasOption("nosuid"))
                    .as("%s is nosuid: %s", mount, entry.options())
                    .isTrue();
            assertThat(entry.hasOption("nodev"))
                    .as("%s is nodev: %s", mount, entry.options())
                    .isTrue();
        }
        for (String dir :
                new String[] {"", "objects", "images", "refs", "mounts", "leases", "tmp"}) {
            assertThat(
                            PosixFilePermissions.toString(
                                    Files.getPosixFilePermissions(store.root().resolve(dir))))
                    .as("mode of the store's %s", dir.isEmpty() ? "root" : dir + "/")
                    .isEqualTo("rwx------");
        }
        node.node().nodeUnpublishVolume(unpublish("vol-rw", rw));
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
    }

    @Test
    void twentyConcurrentPublishesShareOneComposefsMount() throws Exception {
        java.util.List<Path> targets = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            targets.add(node.target("pod-" + i));
        }
        ConcurrentPublishTest.runConcurrently(
                20,
                i ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-" + i, targets.get(i), "tools").build()));
        assertThat(MountTable.read().count(store.mountPoint(digest))).isEqualTo(1);
        assertThat(MountTable.read().entries().stream().filter(e -> e.fsType().equals("erofs")))
                .as("the EROFS layer is detached once the overlay holds it")
                .isEmpty();
        for (Path t : targets) {
            assertThat(Files.readAllBytes(t.resolve("usr/bin/tool"))).isEqualTo(big);
        }
        ConcurrentPublishTest.runConcurrently(
                20, i -> node.node().nodeUnpublishVolume(unpublish("vol-" + i, targets.get(i))));
        assertThat(MountTable.read().isMountPoint(store.mountPoint(digest))).isFalse();
        assertThat(store.mountRecords()).isEmpty();
    }

    @Test
    void aConcurrentStoreGcNeverReleasesTheSharedMountBetweenMountingAndBinding() throws Exception {
        // `kcfs store gc` / `kcfs umount` in another process release unused shared mounts in a loop
        StoreMounter cli = new StoreMounter(store, new ComposefsMounter());
        java.util.concurrent.atomic.AtomicBoolean running =
                new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger releases =
                new java.util.concurrent.atomic.AtomicInteger();
        Thread gc =
                new Thread(
                        () -> {
                            while (running.get()) {
                                try {
                                    releases.addAndGet(cli.releaseUnused().size());
                                } catch (IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }
                        },
                        "store-gc");
        gc.start();
        try {
            for (int i = 0; i < 25; i++) {
                Path t = node.target("pod-" + i);
                node.node().nodePublishVolume(publish("vol-" + i, t, "tools").build());
                assertThat(Files.readAllBytes(t.resolve("usr/bin/tool")))
                        .as("round %d", i)
                        .isEqualTo(big);
                node.node().nodeUnpublishVolume(unpublish("vol-" + i, t));
            }
        } finally {
            running.set(false);
            gc.join();
        }
        assertThat(MountTable.read().entries().stream().filter(e -> e.mountPoint().startsWith(tmp)))
                .isEmpty();
    }

    @Test
    void sharesTheStoresMountWithKcfsMountWithoutPullingItAway() throws Exception {
        Path ro = node.target("pod-ro");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        StoreMounter cli = new StoreMounter(store, new ComposefsMounter());
        Path elsewhere = Files.createDirectories(tmp.resolve("cli-mount"));
        cli.mount("tools", elsewhere, VerityMode.IF_SUPPORTED);
        assertThat(MountTable.read().count(store.mountPoint(digest)))
                .as("kcfs mount reused the shared mount")
                .isEqualTo(1);

        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
        assertThat(Files.readAllBytes(elsewhere.resolve("usr/bin/tool"))).isEqualTo(big);
        assertThat(store.mountRecords())
                .as("still in use by kcfs mount, so still pinned")
                .containsExactly(digest);

        cli.unmount(elsewhere);
        assertThat(cli.releaseUnused()).containsExactly(digest);
        assertThat(store.mountRecords()).isEmpty();
    }

    @Test
    void survivesARestartWithVolumesMounted() throws Exception {
        Path ro = node.target("pod-ro");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        node.restart();
        assertThat(node.plugin.recovery().publicationsRestored()).isEqualTo(1);
        assertThat(Files.readAllBytes(ro.resolve("usr/bin/tool"))).isEqualTo(big);
        Path second = node.target("pod-2");
        node.node().nodePublishVolume(publish("vol-2", second, "tools").build());
        assertThat(MountTable.read().count(store.mountPoint(digest))).isEqualTo(1);
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
        node.node().nodeUnpublishVolume(unpublish("vol-2", second));
        assertThat(store.mountRecords()).isEmpty();
    }

    @Test
    void aVolumeWhoseImageLostAnObjectIsReportedAbnormal() throws Exception {
        Path ro = node.target("pod-ro");
        node.node().nodePublishVolume(publish("vol-ro", ro, "tools").build());
        assertThat(
                        node.node()
                                .nodeGetVolumeStats(stats("vol-ro", ro))
                                .getVolumeCondition()
                                .getAbnormal())
                .isFalse();

        // what fsck does with an object whose bytes changed: it moves it to quarantine/
        Path object = store.objects().path(dev.kcfs.verity.FsVerity.digest(big));
        byte[] changed = big.clone();
        changed[0] ^= 1;
        Files.write(object, changed);
        Store.FsckReport fsck = store.fsck(false, 1);
        assertThat(fsck.quarantined()).hasSize(1);

        var condition = node.node().nodeGetVolumeStats(stats("vol-ro", ro)).getVolumeCondition();
        assertThat(condition.getAbnormal()).isTrue();
        assertThat(condition.getMessage())
                .contains("vol-ro")
                .contains("tools")
                .contains("1 of its objects are missing")
                .contains(object.getParent().getFileName() + "/" + object.getFileName());
        node.node().nodeUnpublishVolume(unpublish("vol-ro", ro));
    }

    private static dev.kcfs.csi.v1.NodeGetVolumeStatsRequest stats(String volumeId, Path path) {
        return dev.kcfs.csi.v1.NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId(volumeId)
                .setVolumePath(path.toString())
                .build();
    }
}
