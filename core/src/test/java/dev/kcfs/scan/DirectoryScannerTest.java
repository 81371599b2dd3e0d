package dev.kcfs.scan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.sun.jna.NativeLong;
import dev.kcfs.linux.LibC;
import dev.kcfs.linux.PathBytes;
import dev.kcfs.testing.Root;
import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Fifo;
import dev.kcfs.tree.FileType;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Socket;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import dev.kcfs.verity.FsVerity;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryScannerTest {
    @TempDir Path src;

    private static final DirectoryScanner.Options ALL =
            DirectoryScanner.Options.defaults().withThreads(2);

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), out).isZero();
    }

    static void setXattr(Path p, String name, String value) {
        byte[] v = bytes(value);
        LibC.INSTANCE.lsetxattr(p.toString(), name, v, new NativeLong(v.length), 0);
    }

    static Inode at(Directory root, String... names) {
        Inode n = root;
        for (String name : names) {
            n = ((Directory) n).child(bytes(name));
            assertThat(n).as("entry %s", name).isNotNull();
        }
        return n;
    }

    @Test
    void regularFilesAreEmptyInlineOrExternalWithTheirFsVerityDigest() throws Exception {
        int[] sizes = {0, 1, 64, 65, 4095, 4096, 4097, (1 << 20) + 1};
        for (int size : sizes) {
            Files.write(src.resolve("f" + size), random(size, size));
        }

        DirectoryScanner.Scan scan = new DirectoryScanner(ALL).scan(src);

        for (int size : sizes) {
            RegularFile f = (RegularFile) at(scan.root(), "f" + size);
            byte[] content = random(size, size);
            assertThat(f.size()).isEqualTo(size);
            if (size == 0) {
                assertThat(f.content()).isNull();
                assertThat(f.payload()).isNull();
                assertThat(f.digest()).isNull();
            } else if (size <= 64) {
                assertThat(f.content()).isEqualTo(content);
                assertThat(f.payload()).isNull();
            } else {
                assertThat(f.content()).isNull();
                assertThat(f.digest()).isEqualTo(FsVerity.digest(content));
                assertThat(new String(f.payload(), StandardCharsets.US_ASCII))
                        .isEqualTo(f.digest().objectPath());
            }
        }
        assertThat(scan.externalFiles())
                .extracting(e -> e.source().getFileName().toString())
                .containsExactlyInAnyOrder("f65", "f4095", "f4096", "f4097", "f" + ((1 << 20) + 1));
        for (DirectoryScanner.ExternalFile e : scan.externalFiles()) {
            assertThat(e.digest()).isEqualTo(FsVerity.digest(e.source()));
            assertThat(e.size()).isEqualTo(Files.size(e.source()));
        }
    }

    @Test
    void statAndNonRegularTypesAreKeptAsOnDisk() throws Exception {
        Path dir = Files.createDirectories(src.resolve("d/sub"));
        Path file = Files.write(src.resolve("d/file"), random(100, 1));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-x--x"));
        Instant t = Instant.ofEpochSecond(1_700_000_000L, 123_456_789);
        Files.setLastModifiedTime(file, FileTime.from(t));
        // the JDK cannot set pre-1970 times (it stores 0), touch can
        run("touch", "-d", "@-4.75", dir.toString());
        Files.createSymbolicLink(src.resolve("link"), Path.of("d/../no where"));
        run("mkfifo", src.resolve("fifo").toString());
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(src.resolve("sock")));
        }

        Directory root = new DirectoryScanner(ALL).scan(src).root();

        RegularFile f = (RegularFile) at(root, "d", "file");
        assertThat(Integer.toOctalString(f.stat().mode())).isEqualTo("100751");
        assertThat(f.stat().mtimeSec()).isEqualTo(1_700_000_000L);
        assertThat(f.stat().mtimeNsec()).isEqualTo(123_456_789);
        assertThat(f.stat().uid())
                .isEqualTo(Integer.toUnsignedLong((Integer) Files.getAttribute(file, "unix:uid")));
        Directory sub = (Directory) at(root, "d", "sub");
        assertThat(sub.stat().mtimeSec()).isEqualTo(-5);
        assertThat(sub.stat().mtimeNsec()).isEqualTo(250_000_000);
        assertThat(((Directory) at(root, "d")).stat().nlink()).isEqualTo(3);
        assertThat(((Symlink) at(root, "link")).target()).isEqualTo(bytes("d/../no where"));
        assertThat(at(root, "fifo")).isInstanceOf(Fifo.class);
        assertThat(at(root, "sock")).isInstanceOf(Socket.class);
        assertThat(at(root, "sock").type()).isEqualTo(FileType.SOCKET);
    }

    @Test
    void hardlinksAreSeparateInodesWithNlinkOneLikeUpstream() throws Exception {
        Path a = Files.write(src.resolve("a"), random(5000, 3));
        Files.createLink(src.resolve("b"), a);

        DirectoryScanner.Scan scan = new DirectoryScanner(ALL).scan(src);

        RegularFile fa = (RegularFile) at(scan.root(), "a");
        RegularFile fb = (RegularFile) at(scan.root(), "b");
        assertThat(fa).isNotSameAs(fb);
        assertThat(fa.stat().nlink()).isEqualTo(1);
        assertThat(fb.stat().nlink()).isEqualTo(1);
        assertThat(fa.digest()).isEqualTo(fb.digest());
        assertThat(scan.externalFiles()).hasSize(2);
    }

    @Test
    void namesAreExactBytesEvenWhenNotUtf8() throws Exception {
        List<byte[]> names =
                List.of(
                        bytes("with space"),
                        bytes("new\nline"),
                        bytes("a=b"),
                        bytes("caf\u00e9"),
                        new byte[] {'x', (byte) 0xff, (byte) 0xfe, 'y'},
                        new byte[] {(byte) 0xc3, '('},
                        bytes("\\x41"));
        byte[] base = src.toString().getBytes(StandardCharsets.UTF_8);
        for (byte[] name : names) {
            byte[] full = new byte[base.length + 1 + name.length];
            System.arraycopy(base, 0, full, 0, base.length);
            full[base.length] = '/';
            System.arraycopy(name, 0, full, base.length + 1, name.length);
            Path p = PathBytes.pathOf(full);
            Files.createDirectory(p);
            Files.write(p.resolve("inner"), name); // contents: the name again
        }

        Directory root = new DirectoryScanner(ALL).scan(src).root();

        assertThat(root.size()).isEqualTo(names.size());
        for (byte[] name : names) {
            Inode d = root.child(name);
            assertThat(d)
                    .as("entry %s", new String(name, StandardCharsets.ISO_8859_1))
                    .isInstanceOf(Directory.class);
            RegularFile inner = (RegularFile) ((Directory) d).child(bytes("inner"));
            assertThat(inner.content()).isEqualTo(name);
        }
    }

    @Test
    void userXattrsAndOptions() throws Exception {
        Path f = Files.write(src.resolve("f"), random(10, 4));
        setXattr(f, "user.b", "2");
        setXattr(f, "user.a", "1=\n");
        Files.setLastModifiedTime(f, FileTime.from(Instant.ofEpochSecond(1234, 5)));

        RegularFile all = (RegularFile) at(new DirectoryScanner(ALL).scan(src).root(), "f");
        assertThat(all.xattrs())
                .containsExactly(Xattr.of("user.a", "1=\n"), Xattr.of("user.b", "2"));

        RegularFile none =
                (RegularFile)
                        at(new DirectoryScanner(ALL.withSkipXattrs(true)).scan(src).root(), "f");
        assertThat(none.xattrs()).isEmpty();

        Directory epoch = new DirectoryScanner(ALL.withUseEpoch(true)).scan(src).root();
        assertThat(epoch.stat().mtimeSec()).isZero();
        assertThat(at(epoch, "f").stat().mtimeSec()).isZero();
        assertThat(at(epoch, "f").stat().mtimeNsec()).isZero();
    }

    @Test
    void sinkSeesEveryExternalFileOnceAndItsFailureFailsTheScan() throws Exception {
        for (int i = 0; i < 50; i++) {
            Files.write(src.resolve("f" + i), random(100 + i, i));
        }
        byte[] large = random(FsVerity.readBuffer().capacity() + 1, 99);
        Files.write(src.resolve("large"), large);
        Set<String> seen = ConcurrentHashMap.newKeySet();
        Set<String> bodies = ConcurrentHashMap.newKeySet();
        new DirectoryScanner(ALL)
                .scan(
                        src,
                        (e, body) -> {
                            seen.add(e.source().getFileName() + " " + e.digest());
                            byte[] onDisk = Files.readAllBytes(e.source());
                            if (body != null) {
                                // the whole file, as read: what an object store writes from
                                byte[] held = new byte[body.remaining()];
                                body.duplicate().get(held);
                                assertThat(held).isEqualTo(onDisk);
                                assertThat(FsVerity.digest(held)).isEqualTo(e.digest());
                                bodies.add(e.source().getFileName().toString());
                            }
                        });
        assertThat(seen).hasSize(51);
        // a file larger than one read buffer is not held in memory: the sink reads the source
        assertThat(bodies).hasSize(50).doesNotContain("large");

        assertThatThrownBy(
                        () ->
                                new DirectoryScanner(ALL)
                                        .scan(
                                                src,
                                                (e, body) -> {
                                                    throw new IOException("store is full");
                                                }))
                .hasMessage("store is full");
    }

    @Test
    void prefetchingChangesNothingButSpeed() throws Exception {
        for (int i = 0; i < 200; i++) {
            Files.write(src.resolve("f" + i), random(65 + 997 * i, i));
        }
        List<String> with = new ArrayList<>();
        List<String> without = new ArrayList<>();
        new DirectoryScanner(ALL.withPrefetch(true))
                .scan(src)
                .externalFiles()
                .forEach(e -> with.add(e.source().getFileName() + " " + e.digest()));
        new DirectoryScanner(ALL.withPrefetch(false).withThreads(1))
                .scan(src)
                .externalFiles()
                .forEach(e -> without.add(e.source().getFileName() + " " + e.digest()));
        assertThat(with).hasSize(200).containsExactlyInAnyOrderElementsOf(without);
    }

    @Test
    void errorsNameThePath() throws Exception {
        assertThatThrownBy(() -> new DirectoryScanner(ALL).scan(src.resolve("missing")))
                .isInstanceOf(ScanException.class)
                .hasMessageContaining("missing")
                .hasMessageContaining("no such file");
        Path file = Files.write(src.resolve("plain"), new byte[3]);
        assertThatThrownBy(() -> new DirectoryScanner(ALL).scan(file))
                .isInstanceOf(ScanException.class)
                .hasMessage(file + ": not a directory");
    }

    @Test
    void unreadableFileIsReportedByPath() throws Exception {
        assumeFalse(Root.isRoot(), "skipped: root reads files whatever their mode");
        Path f = Files.write(src.resolve("secret"), random(1000, 9));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        assertThatThrownBy(() -> new DirectoryScanner(ALL).scan(src))
                .isInstanceOf(ScanException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("ermission denied");
    }

    @Test
    @Tag("root")
    void devicesWhiteoutsAndPrivilegedXattrs() throws Exception {
        Root.assumeRoot();
        run("mknod", src.resolve("chr").toString(), "c", "1", "3");
        run("mknod", src.resolve("blk").toString(), "b", "259", "70000");
        run("mknod", src.resolve("wh").toString(), "c", "0", "0");
        Path f = Files.write(src.resolve("f"), random(200, 5));
        setXattr(f, "trusted.overlay.opaque", "y");
        setXattr(f, "security.kcfs", "s");
        setXattr(f, "user.u", "v");
        setXattr(src, "trusted.t", "root-dir");

        Directory root = new DirectoryScanner(ALL).scan(src).root();

        assertThat(((DeviceNode) at(root, "chr")).rdev()).isEqualTo(DeviceNode.makedev(1, 3));
        DeviceNode blk = (DeviceNode) at(root, "blk");
        assertThat(blk.type()).isEqualTo(FileType.BLOCK_DEVICE);
        assertThat(DeviceNode.major(blk.rdev())).isEqualTo(259);
        assertThat(DeviceNode.minor(blk.rdev())).isEqualTo(70000);
        assertThat(((DeviceNode) at(root, "wh")).isWhiteout()).isTrue();
        // stored as found: escaping trusted.overlay.* is the image writer's job
        assertThat(at(root, "f").xattrs())
                .containsExactly(
                        Xattr.of("security.kcfs", "s"),
                        Xattr.of("trusted.overlay.opaque", "y"),
                        Xattr.of("user.u", "v"));
        assertThat(root.xattrs()).contains(Xattr.of("trusted.t", "root-dir"));

        Directory userOnly =
                new DirectoryScanner(ALL.withUserXattrsOnly(true).withSkipDevices(true))
                        .scan(src)
                        .root();
        assertThat(at(userOnly, "f").xattrs()).containsExactly(Xattr.of("user.u", "v"));
        assertThat(userOnly.children().keySet())
                .extracting(k -> new String(k, StandardCharsets.UTF_8))
                .containsExactly("f");
        assertThat(new ArrayList<>(userOnly.xattrs())).isEmpty();
    }
}
