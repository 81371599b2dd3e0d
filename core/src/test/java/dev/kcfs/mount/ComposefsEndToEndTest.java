package dev.kcfs.mount;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.linux.LibC;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.store.ErofsImageObjects;
import dev.kcfs.store.ObjectDirectory;
import dev.kcfs.store.Store;
import dev.kcfs.testing.Root;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.KernelVerity;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path with kcfs's own parts: scan a tree with every file type and xattr kind, copy the
 * bodies into a store, write the image, mount it, and compare every path with the source.
 */
@Tag("root")
class ComposefsEndToEndTest {
    @TempDir Path dir;
    Path src;
    Store store;
    Digest image;

    @BeforeEach
    void build() throws Exception {
        Root.assumeRoot();
        src = Files.createDirectories(dir.resolve("src"));
        Files.createDirectories(src.resolve("dir/sub/deeper"));
        Files.createDirectories(src.resolve("empty-dir"));
        Random r = new Random(3);
        for (int size : new int[] {0, 1, 63, 64, 65, 4095, 4096, 4097, 100000, 1 << 20}) {
            byte[] b = new byte[size];
            r.nextBytes(b);
            Files.write(src.resolve("dir/f" + size), b);
        }
        Files.write(
                src.resolve("dir/sub/dup-of-100000"),
                Files.readAllBytes(src.resolve("dir/f100000")));
        Files.createLink(src.resolve("dir/hardlink"), src.resolve("dir/f4096"));
        Files.createSymbolicLink(src.resolve("link"), Path.of("dir/f65"));
        Files.createSymbolicLink(src.resolve("dangling"), Path.of("/nowhere/at/all"));
        TestImages.run("mkfifo", src.resolve("fifo").toString());
        TestImages.run("mknod", src.resolve("null-dev").toString(), "c", "1", "3");
        TestImages.run("mknod", src.resolve("blk-dev").toString(), "b", "7", "200");
        try (ServerSocketChannel s =
                ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(src.resolve("sock")));
        }
        Files.writeString(src.resolve("odd name \u00e9 \t"), "odd");
        TestImages.run(
                "setfattr", "-n", "user.plain", "-v", "value", src.resolve("dir/f65").toString());
        TestImages.run(
                "setfattr",
                "-n",
                "user.binary",
                "-v",
                "0x00ff10",
                src.resolve("dir/f100000").toString());
        TestImages.run(
                "setfattr", "-n", "trusted.secret", "-v", "t", src.resolve("dir/f1").toString());
        TestImages.run(
                "setfattr",
                "-n",
                "trusted.overlay.opaque",
                "-v",
                "y",
                src.resolve("dir/sub").toString());
        TestImages.run(
                "setfattr", "-n", "security.kcfs", "-v", "s", src.resolve("dir/f4097").toString());
        TestImages.run(
                "setfattr",
                "-h",
                "-n",
                "trusted.on-link",
                "-v",
                "l",
                src.resolve("link").toString());
        TestImages.run("chown", "1234:5678", src.resolve("dir/f63").toString());
        TestImages.run("chown", "-h", "42:43", src.resolve("link").toString());
        TestImages.run("chmod", "4755", src.resolve("dir/f64").toString());
        TestImages.run("chmod", "1777", src.resolve("empty-dir").toString());
        TestImages.run("chmod", "0", src.resolve("dir/f0").toString());
        Files.setLastModifiedTime(
                src.resolve("dir/f4095"),
                FileTime.from(Instant.parse("2024-01-02T03:04:05.123456789Z")));
        Files.setLastModifiedTime(
                src.resolve("dir/sub"), FileTime.from(Instant.parse("2001-09-09T01:46:40Z")));

        store = Store.open(dir.resolve("store"));
        try (Store.Lease lease = store.lease("test import");
                ObjectDirectory.Batch batch = store.objects().batch()) {
            DirectoryScanner.Scan scan =
                    new DirectoryScanner(DirectoryScanner.Options.defaults())
                            .scan(src, (f, body) -> batch.addFile(f.source(), f.digest(), body));
            batch.commit();
            Path img = dir.resolve("image.cfs");
            ErofsWriter.write(scan.root(), ErofsWriter.WriteOptions.defaults(), img);
            image = store.addImage(img, ErofsImageObjects.of(scan.root()));
            store.setRef("test", image);
        }
    }

    @Test
    void everyPathReadsBackAsTheSourceAndWritableModeLandsInUpper() throws Exception {
        assertThat(store.fsck(true, 2).clean())
                .as("objects, image and object list consistent")
                .isTrue();
        assertThat(store.objectList(image).orElseThrow().digests())
                .as("dup file shares one object")
                .hasSize(6);
        ComposefsMounter mounter =
                new ComposefsMounter(
                        new KernelVerity(), Files.createDirectories(dir.resolve("scratch")), false);
        Path target = Files.createDirectories(dir.resolve("mnt"));
        mounter.mount(store.imagePath(image), target, MountOptions.of(store.objects().root()));
        try {
            assertSameTree(src, target);
        } finally {
            mounter.unmount(target, false);
        }

        Path upper = Files.createDirectories(dir.resolve("upper"));
        Path work = Files.createDirectories(dir.resolve("work"));
        mounter.mount(
                store.imagePath(image),
                target,
                MountOptions.of(store.objects().root()).writable(upper, work));
        try {
            Files.writeString(target.resolve("dir/new.txt"), "new");
            Files.write(
                    target.resolve("dir/f100000"),
                    new byte[] {1},
                    java.nio.file.StandardOpenOption.APPEND);
        } finally {
            mounter.unmount(target, false);
        }
        assertThat(Files.readString(upper.resolve("dir/new.txt"))).isEqualTo("new");
        assertThat(Files.size(upper.resolve("dir/f100000"))).isEqualTo(100001);
        assertThat(store.fsck(true, 2).clean())
                .as("the store is untouched by writes through the mount")
                .isTrue();
    }

    private static Map<String, Path> walk(Path root) throws Exception {
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.forEach(p -> out.put(root.relativize(p).toString(), p));
        }
        return out;
    }

    private static void assertSameTree(Path expectedRoot, Path actualRoot) throws Exception {
        Map<String, Path> expected = walk(expectedRoot);
        Map<String, Path> actual = walk(actualRoot);
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (Map.Entry<String, Path> e : expected.entrySet()) {
            Path a = actual.get(e.getKey());
            Path x = e.getValue();
            String what = "/" + e.getKey();
            Map<String, Object> xs =
                    Files.readAttributes(
                            x,
                            "unix:mode,uid,gid,size,lastModifiedTime,rdev",
                            LinkOption.NOFOLLOW_LINKS);
            Map<String, Object> as =
                    Files.readAttributes(
                            a,
                            "unix:mode,uid,gid,size,lastModifiedTime,rdev",
                            LinkOption.NOFOLLOW_LINKS);
            assertThat(as.get("mode")).as("mode of %s", what).isEqualTo(xs.get("mode"));
            assertThat(as.get("uid")).as("uid of %s", what).isEqualTo(xs.get("uid"));
            assertThat(as.get("gid")).as("gid of %s", what).isEqualTo(xs.get("gid"));
            assertThat(as.get("rdev")).as("rdev of %s", what).isEqualTo(xs.get("rdev"));
            if (e.getKey().isEmpty()) {
                continue; // the root carries the overlay's own xattrs and the scan root's mtime
                // handling
            }
            assertThat(as.get("lastModifiedTime"))
                    .as("mtime of %s", what)
                    .isEqualTo(xs.get("lastModifiedTime"));
            if (!Files.isDirectory(x, LinkOption.NOFOLLOW_LINKS)) {
                assertThat(as.get("size")).as("size of %s", what).isEqualTo(xs.get("size"));
            }
            assertThat(xattrs(a)).as("xattrs of %s", what).isEqualTo(xattrs(x));
            if (Files.isSymbolicLink(x)) {
                assertThat(Files.readSymbolicLink(a))
                        .as("target of %s", what)
                        .isEqualTo(Files.readSymbolicLink(x));
            } else if (Files.isRegularFile(x, LinkOption.NOFOLLOW_LINKS)) {
                assertThat(Files.readAllBytes(a))
                        .as("content of %s", what)
                        .isEqualTo(Files.readAllBytes(x));
            }
        }
    }

    private static Map<String, String> xattrs(Path p) {
        Map<String, String> out = new TreeMap<>();
        byte[] list = new byte[65536];
        long n;
        try {
            n =
                    LibC.INSTANCE
                            .llistxattr(p.toString(), list, new NativeLong(list.length))
                            .longValue();
        } catch (LastErrorException e) {
            return out;
        }
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < n; i++) {
            if (list[i] == 0) {
                names.add(new String(list, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        for (String name : names) {
            byte[] v = new byte[65536];
            long len =
                    LibC.INSTANCE
                            .lgetxattr(p.toString(), name, v, new NativeLong(v.length))
                            .longValue();
            out.put(name, java.util.HexFormat.of().formatHex(v, 0, (int) len));
        }
        return out;
    }
}
