package dev.kcfs.mount;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.KernelVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("root")
class ComposefsMounterTest {
    @TempDir Path dir;
    Path scratch;
    Path target;
    ComposefsMounter mounter;

    @BeforeEach
    void setUp() throws Exception {
        Root.assumeRoot();
        scratch = Files.createDirectories(dir.resolve("scratch"));
        target = Files.createDirectories(dir.resolve("mnt"));
        mounter = new ComposefsMounter(new KernelVerity(), scratch, false);
    }

    /** Mount table lines (mountinfo) under our temp dir: nothing of ours may remain after a failure. */
    private List<String> ourMounts() throws Exception {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.contains(dir.toString()))
                .toList();
    }

    private void assertNothingLeft() throws Exception {
        assertThat(ourMounts()).isEmpty();
        try (Stream<Path> s = Files.list(scratch)) {
            assertThat(s.toList()).as("temporary EROFS mount points").isEmpty();
        }
    }

    @Test
    void mountsReadsAndUnmounts() throws Exception {
        TestImages.Built img = TestImages.build(dir);
        Mounted m = mounter.mount(img.image(), target, MountOptions.of(img.objects()));
        try {
            assertThat(m.loopDevice()).as("file-backed EROFS on this kernel").isNull();
            assertThat(m.verityEnforced()).isFalse();
            assertThat(Files.readString(target.resolve("small.txt"))).isEqualTo("hello\n");
            assertThat(Files.readAllBytes(target.resolve("dir/big.bin"))).isEqualTo(img.big());
            assertThat(Files.readSymbolicLink(target.resolve("link")))
                    .isEqualTo(Path.of("small.txt"));
            assertThat(target.resolve("dir/sub")).isDirectory();
            assertThat(
                            TestImages.run(
                                    "getfattr",
                                    "--absolute-names",
                                    "-n",
                                    "user.foo",
                                    "--only-values",
                                    target.resolve("small.txt").toString()))
                    .isEqualTo("bar");
            List<String> mounts = ourMounts();
            assertThat(mounts).as("only the overlay is visible; the EROFS is detached").hasSize(1);
            assertThat(mounts.get(0))
                    .contains(" - overlay composefs ")
                    .contains("metacopy=on")
                    .contains("redirect_dir=on");
            try (Stream<Path> s = Files.list(scratch)) {
                assertThat(s.toList()).isEmpty();
            }
            assertThatThrownBy(() -> Files.writeString(target.resolve("new"), "x"))
                    .as("read-only")
                    .isInstanceOf(java.io.IOException.class);
        } finally {
            mounter.unmount(target, false);
        }
        assertNothingLeft();
        try (Stream<Path> s = Files.list(target)) {
            assertThat(s.toList()).isEmpty();
        }
        assertThatThrownBy(() -> mounter.unmount(target, false))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("not a mount point");
    }

    @Test
    void attachedLowerPathForOlderKernelsLeavesOnlyTheOverlay() throws Exception {
        TestImages.Built img = TestImages.build(dir);
        mounter.useAttachedLower();
        mounter.mount(img.image(), target, MountOptions.of(img.objects()));
        try {
            assertThat(Files.readAllBytes(target.resolve("dir/big.bin"))).isEqualTo(img.big());
            assertThat(ourMounts()).hasSize(1);
            try (Stream<Path> s = Files.list(scratch)) {
                assertThat(s.toList()).as("temporary EROFS mount point removed").isEmpty();
            }
        } finally {
            mounter.unmount(target, false);
        }
        assertNothingLeft();
    }

    @Test
    void writableModeLandsInUpperAndLeavesStoreUntouched() throws Exception {
        TestImages.Built img = TestImages.build(dir);
        Path upper = Files.createDirectories(dir.resolve("upper"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Digest imageBefore = FsVerity.digest(img.image());
        Mounted m =
                mounter.mount(
                        img.image(), target, MountOptions.of(img.objects()).writable(upper, work));
        try {
            assertThat(m.writable()).isTrue();
            Files.writeString(target.resolve("new.txt"), "fresh");
            Files.write(
                    target.resolve("dir/big.bin"), new byte[] {1, 2, 3}, StandardOpenOption.APPEND);
            Files.delete(target.resolve("small.txt"));
        } finally {
            mounter.unmount(target, false);
        }
        assertThat(Files.readString(upper.resolve("new.txt"))).isEqualTo("fresh");
        assertThat(Files.size(upper.resolve("dir/big.bin"))).isEqualTo(img.big().length + 3);
        assertThat(
                        Files.exists(
                                upper.resolve("small.txt"),
                                java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .as("whiteout")
                .isTrue();
        assertThat(FsVerity.digest(img.objects().resolve(img.bigDigest().objectPath())))
                .isEqualTo(img.bigDigest());
        assertThat(FsVerity.digest(img.image())).isEqualTo(imageBefore);
        assertNothingLeft();
    }

    @Test
    void writableDirsWithBackslashesCommasAndColonsAreTheOnesUsed() throws Exception {
        // overlayfs unescapes upperdir/workdir even through fsconfig; an unescaped "\\" would name
        // another directory (or none)
        TestImages.Built img = TestImages.build(dir);
        Path upper = Files.createDirectories(dir.resolve("up\\per,a:b"));
        Path work = Files.createDirectories(dir.resolve("wo\\rk,c:d"));
        Files.createDirectories(dir.resolve("upper,a:b"));
        Mounted m =
                mounter.mount(
                        img.image(), target, MountOptions.of(img.objects()).writable(upper, work));
        try {
            assertThat(m.writable()).isTrue();
            Files.writeString(target.resolve("new.txt"), "fresh");
        } finally {
            mounter.unmount(target, false);
        }
        assertThat(Files.readString(upper.resolve("new.txt"))).isEqualTo("fresh");
        assertThat(dir.resolve("upper,a:b")).as("the unescaped name").isEmptyDirectory();
        assertNothingLeft();
    }

    @Test
    void badImagesGiveClearErrorsAndLeaveNothingMounted() throws Exception {
        TestImages.Built img = TestImages.build(dir);
        Path random = dir.resolve("random.cfs");
        Files.write(random, new byte[8192]);
        assertThatThrownBy(() -> mounter.mount(random, target, MountOptions.of(img.objects())))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("random.cfs")
                .hasMessageContaining("not a composefs image");

        Path truncated = dir.resolve("truncated.cfs");
        byte[] whole = Files.readAllBytes(img.image());
        Files.write(truncated, java.util.Arrays.copyOf(whole, whole.length / 2));
        assertThatThrownBy(() -> mounter.mount(truncated, target, MountOptions.of(img.objects())))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("truncated.cfs")
                .hasMessageContaining("truncated");

        Path tiny = dir.resolve("tiny.cfs");
        Files.write(tiny, new byte[10]);
        assertThatThrownBy(() -> mounter.mount(tiny, target, MountOptions.of(img.objects())))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("tiny.cfs");

        // right headers, garbage superblock contents: the kernel refuses, we say which image
        Path garbage = dir.resolve("garbage.cfs");
        byte[] g = whole.clone();
        for (int i = 1024 + 8; i < 1024 + 128; i++) {
            g[i] = (byte) 0xff;
        }
        g[1024 + 36] = 1; // blocks: keep the size check satisfied
        g[1024 + 37] = 0;
        g[1024 + 38] = 0;
        g[1024 + 39] = 0;
        Files.write(garbage, g);
        assertThatThrownBy(() -> mounter.mount(garbage, target, MountOptions.of(img.objects())))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("garbage.cfs")
                .hasMessageContaining("EROFS");

        assertThatThrownBy(
                        () ->
                                mounter.mount(
                                        dir.resolve("absent.cfs"),
                                        target,
                                        MountOptions.of(img.objects())))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("absent.cfs");
        assertNothingLeft();
    }

    @Test
    void pinnedDigestIsCheckedBeforeMounting() throws Exception {
        TestImages.Built img = TestImages.build(dir);
        Digest right = FsVerity.digest(img.image());
        Mounted m =
                mounter.mount(
                        img.image(), target, MountOptions.of(img.objects()).withDigest(right));
        mounter.unmount(target, false);
        assertThat(m.notes()).anyMatch(n -> n.contains("user space"));
        Digest wrong = FsVerity.digest(new byte[] {1});
        assertThatThrownBy(
                        () ->
                                mounter.mount(
                                        img.image(),
                                        target,
                                        MountOptions.of(img.objects()).withDigest(wrong)))
                .isInstanceOf(MountException.class)
                .hasMessageContaining(right.hex())
                .hasMessageContaining(wrong.hex());
        assertNothingLeft();
    }

    @Test
    void verityRequiredButUnsupportedFailsClearlyAndIfSupportedSaysSo() throws Exception {
        TestImages.Built img = TestImages.build(dir);
        KernelVerity.Measurement probe = new KernelVerity().measure(img.image());
        assumeTrue(
                probe.status() == KernelVerity.Measurement.Status.UNSUPPORTED,
                "skipped: this kernel and filesystem support fs-verity, so 'unsupported' cannot be shown here");
        assertThatThrownBy(
                        () ->
                                mounter.mount(
                                        img.image(),
                                        target,
                                        MountOptions.of(img.objects())
                                                .withVerity(VerityMode.REQUIRED)))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("verity was required")
                .hasMessageContaining("image.cfs")
                .hasMessageContaining("Nothing was mounted")
                // a rule the node cannot meet (CSI answers FAILED_PRECONDITION), not a fault
                .satisfies(
                        e ->
                                assertThat(((MountException) e).kind())
                                        .isEqualTo(MountException.Kind.REFUSED));
        assertNothingLeft();
        Mounted m =
                mounter.mount(
                        img.image(),
                        target,
                        MountOptions.of(img.objects()).withVerity(VerityMode.IF_SUPPORTED));
        try {
            assertThat(m.verityEnforced()).isFalse();
            assertThat(m.notes()).anyMatch(n -> n.contains("WITHOUT verity"));
            assertThat(Files.readAllBytes(target.resolve("dir/big.bin"))).isEqualTo(img.big());
        } finally {
            mounter.unmount(target, false);
        }
    }

    @Test
    void anObjectWithoutVerityFailsARequiredMountAndTryverityMountsWithoutIt() throws Exception {
        // an image as kcfs writes it (metacopy digests), in a store
        Path tree = Files.createDirectories(dir.resolve("tree/dir"));
        byte[] big = new byte[100000];
        new java.util.Random(11).nextBytes(big);
        Files.write(tree.resolve("big.bin"), big);
        dev.kcfs.store.Store store = dev.kcfs.store.Store.open(dir.resolve("store"));
        Digest imageDigest =
                dev.kcfs.scan.DirectoryImport.run(
                                store,
                                tree.getParent(),
                                "app",
                                dev.kcfs.scan.DirectoryScanner.Options.defaults(),
                                dev.kcfs.image.erofs.ErofsWriter.WriteOptions.pinned(1))
                        .imageDigest();
        Path image = store.imagePath(imageDigest);
        Path objects = store.objects().root();
        Path object = store.objects().path(FsVerity.digest(big));
        // fs-verity as a kernel and filesystem that have it answer: everything measures, except the
        // object that was copied in without verity (ENODATA)
        KernelVerity verity =
                new KernelVerity(
                        (fd, request, arg) -> {
                            Path file;
                            try {
                                file = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd));
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                            if (file.equals(object)) {
                                throw new com.sun.jna.LastErrorException(
                                        dev.kcfs.linux.Errno.ENODATA);
                            }
                            arg.setShort(0, (short) KernelVerity.HASH_ALG_SHA256);
                            arg.setShort(2, (short) Digest.LENGTH);
                        });
        ComposefsMounter withVerity = new ComposefsMounter(verity, scratch, false);
        assertThatThrownBy(
                        () ->
                                withVerity.mount(
                                        image,
                                        target,
                                        MountOptions.of(objects).withVerity(VerityMode.REQUIRED)))
                .isInstanceOf(MountException.class)
                .hasMessageContaining("verity was required")
                .hasMessageContaining("1 of its objects have no fs-verity enabled")
                .hasMessageContaining(object.toString())
                .hasMessageContaining("Nothing was mounted");
        assertNothingLeft();

        Mounted m =
                withVerity.mount(
                        image,
                        target,
                        MountOptions.of(objects).withVerity(VerityMode.IF_SUPPORTED));
        try {
            assertThat(m.verityEnforced()).isFalse();
            assertThat(m.notes())
                    .anyMatch(n -> n.contains("WITHOUT verity") && n.contains(object.toString()));
            assertThat(ourMounts()).singleElement().asString().doesNotContain("verity=");
            assertThat(Files.readAllBytes(target.resolve("dir/big.bin"))).isEqualTo(big);
        } finally {
            mounter.unmount(target, false);
        }
    }

    @Test
    void loopDeviceFallbackMountsAndFreesTheDevice() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/loop-control")), "skipped: no /dev/loop-control");
        TestImages.Built img = TestImages.build(dir);
        ComposefsMounter viaLoop = new ComposefsMounter(new KernelVerity(), scratch, true);
        Mounted m = viaLoop.mount(img.image(), target, MountOptions.of(img.objects()));
        String dev;
        try {
            dev = m.loopDevice();
            assertThat(dev).startsWith("/dev/loop");
            assertThat(Files.readAllBytes(target.resolve("dir/big.bin"))).isEqualTo(img.big());
        } finally {
            viaLoop.unmount(target, false);
        }
        Path backing =
                Path.of("/sys/block", Path.of(dev).getFileName().toString(), "loop/backing_file");
        for (int i = 0; i < 100 && Files.exists(backing); i++) {
            Thread.sleep(20); // autoclear happens asynchronously after the last unmount
        }
        assertThat(backing).as("autoclear released " + dev).doesNotExist();
        assertNothingLeft();
    }
}
