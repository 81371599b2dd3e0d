package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.kcfs;
import static dev.kcfs.cli.CliRun.kcfsWithInput;
import static dev.kcfs.cli.CliRun.tool;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.NativeLong;
import dev.kcfs.linux.LibC;
import dev.kcfs.linux.PathBytes;
import dev.kcfs.testing.Root;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 2's "must show": a directory with every file type, xattrs in every namespace, whiteouts,
 * odd names, inline/external boundary sizes and a sparse multi-GiB file gives an image that
 * fsck.erofs accepts, that mounts with the overlay xattrs escaped, and that equals the image
 * built from its own dump; --digest-store holds exactly the objects, each named by its digest.
 */
@Tag("root")
class EveryFileTypeTest {
    /** Over 4 GiB, so sizes need more than 32 bits; sparse, so it costs no disk. */
    static final long SPARSE_SIZE = (4L << 30) + 4097;

    @TempDir Path tmp;

    static void xattr(Path p, String name, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        LibC.INSTANCE.lsetxattr(p.toString(), name, v, new NativeLong(v.length), 0);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static Path child(Path dir, byte[] name) {
        byte[] d = dir.toString().getBytes(StandardCharsets.UTF_8);
        byte[] full = new byte[d.length + 1 + name.length];
        System.arraycopy(d, 0, full, 0, d.length);
        full[d.length] = '/';
        System.arraycopy(name, 0, full, d.length + 1, name.length);
        return PathBytes.pathOf(full);
    }

    Path buildTree() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path sub = Files.createDirectories(src.resolve("dir with spaces"));
        tool("mknod", src.resolve("chr").toString(), "c", "1", "3");
        tool("mknod", src.resolve("blk").toString(), "b", "7", "300");
        tool("mknod", src.resolve("whiteout").toString(), "c", "0", "0");
        tool("mknod", sub.resolve("nested whiteout").toString(), "c", "0", "0");
        tool("mkfifo", src.resolve("fifo").toString());
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(src.resolve("sock")));
        }
        for (int size : new int[] {0, 1, 64, 65, 4095, 4096, 4097}) {
            Files.write(sub.resolve("f" + size), random(size, size));
        }
        Files.createLink(sub.resolve("hardlink"), sub.resolve("f4097"));
        Files.createSymbolicLink(
                src.resolve("symlink"), Path.of("dir with spaces/../f\u00e9 \\ =x"));
        try (RandomAccessFile f = new RandomAccessFile(src.resolve("sparse").toFile(), "rw")) {
            f.seek(SPARSE_SIZE - 3);
            f.write(new byte[] {1, 2, 3});
        }
        List<byte[]> odd =
                List.of(
                        "with space".getBytes(StandardCharsets.UTF_8),
                        "new\nline".getBytes(StandardCharsets.UTF_8),
                        "a=b".getBytes(StandardCharsets.UTF_8),
                        "-".getBytes(StandardCharsets.UTF_8),
                        "back\\slash\ttab".getBytes(StandardCharsets.UTF_8),
                        new byte[] {'n', (byte) 0xff, (byte) 0x80, 'u'});
        int i = 0;
        for (byte[] name : odd) {
            Files.write(child(src, name), random(100 + i, 50 + i));
            i++;
        }
        Path x = sub.resolve("f65");
        xattr(x, "user.comment", "a value with = and \n");
        xattr(x, "security.kcfs", "sec");
        xattr(x, "trusted.overlay.foo", "escaped");
        xattr(x, "trusted.kcfs", "trusted");
        // not on a directory holding whiteouts: version 1 sets trusted.overlay.opaque=x there
        // (upstream)
        xattr(Files.createDirectories(src.resolve("opaque")), "trusted.overlay.opaque", "y");
        xattr(src, "user.root", "r");
        Files.setLastModifiedTime(
                x, FileTime.from(Instant.ofEpochSecond(1_600_000_000L, 987_654_321)));
        return src;
    }

    @Test
    void everyFileTypeBuildsAnImageThatChecksMountsAndRoundTrips() throws Exception {
        Root.assumeRoot();
        Path src = buildTree();
        Path image = tmp.resolve("all.cfs");

        CliRun r = kcfs("mkcomposefs", "--print-digest", src.toString(), image.toString());
        assertThat(r.rc()).as("%s", r).isZero();
        assertThat(r.outText().trim())
                .isEqualTo(tool("fsverity", "digest", "--compact", image.toString()).trim());
        assertThat(CliRun.headerVersion(image)).as("whiteouts make it version 1").isEqualTo(1);
        tool("fsck.erofs", image.toString());

        CliRun dump = kcfs("info", "dump", image.toString());
        assertThat(dump.rc()).isZero();
        String text = dump.outText();
        assertThat(text)
                .contains("\n/sparse " + SPARSE_SIZE + " 100644 1 ")
                .contains("\n/chr 0 20644 1 0 0 " + (1 << 8 | 3) + " ")
                .contains("\n/whiteout 0 20644 1 0 0 0 ")
                .contains("\n/dir\\x20with\\x20spaces/nested\\x20whiteout 0 20644 1 0 0 0 ")
                .contains("\n/new\\nline 101 ")
                .contains("\n/n\\xff\\x80u 105 ")
                .contains("\n/- 103 ")
                .contains("\n/fifo 0 10644 1 ")
                .contains("\n/sock 0 140755 1 ")
                .contains(" 1600000000.987654321 ")
                .contains("trusted.overlay.foo=escaped")
                .contains("security.kcfs=sec")
                .contains("user.comment=a\\x20value\\x20with\\x20\\x3d\\x20and\\x20\\n");
        assertThat(text.lines().filter(l -> l.startsWith("/opaque ")))
                .singleElement()
                .asString()
                .endsWith(" trusted.overlay.opaque=y");
        assertThat(text.lines().filter(l -> l.startsWith("/dir\\x20with\\x20spaces ")))
                .singleElement()
                .asString()
                .endsWith(" trusted.overlay.opaque=x user.overlay.opaque=x");
        // hardlinks are not detected (upstream): two inodes with nlink 1 and the same object
        String f4097 =
                text.lines()
                        .filter(l -> l.startsWith("/dir\\x20with\\x20spaces/f4097 "))
                        .findFirst()
                        .orElseThrow();
        String hard =
                text.lines()
                        .filter(l -> l.startsWith("/dir\\x20with\\x20spaces/hardlink "))
                        .findFirst()
                        .orElseThrow();
        assertThat(hard.substring(hard.indexOf(' ')))
                .isEqualTo(f4097.substring(f4097.indexOf(' ')));
        assertThat(f4097.split(" ")[3]).isEqualTo("1");

        CliRun rebuilt = kcfsWithInput(dump.out(), "mkcomposefs", "--from-file", "-", "-");
        assertThat(rebuilt.rc()).as("%s", rebuilt).isZero();
        assertThat(rebuilt.out())
                .as("image built from the dump")
                .isEqualTo(Files.readAllBytes(image));

        checkMounted(image);
    }

    /** The kernel's view: overlay xattrs of the source are escaped, whiteouts became xwhiteouts. */
    private void checkMounted(Path image) throws Exception {
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        tool("mount", "-t", "erofs", "-o", "ro", image.toString(), mnt.toString());
        try {
            String opaque =
                    tool(
                            "getfattr",
                            "--absolute-names",
                            "-d",
                            "-m",
                            "-",
                            mnt.resolve("opaque").toString());
            assertThat(opaque).contains("trusted.overlay.overlay.opaque=\"y\"");
            String dir =
                    tool(
                            "getfattr",
                            "--absolute-names",
                            "-d",
                            "-m",
                            "-",
                            mnt.resolve("dir with spaces").toString());
            assertThat(dir)
                    .contains("trusted.overlay.overlay.whiteouts")
                    .contains("trusted.overlay.overlay.opaque=\"x\"");
            String file =
                    tool(
                            "getfattr",
                            "--absolute-names",
                            "-d",
                            "-m",
                            "-",
                            mnt.resolve("dir with spaces/f65").toString());
            assertThat(file)
                    .contains("trusted.overlay.overlay.foo=\"escaped\"")
                    .contains("security.kcfs=\"sec\"")
                    .contains("trusted.kcfs=\"trusted\"")
                    .contains("user.comment=")
                    .contains("trusted.overlay.redirect=\"/");
            String wh =
                    tool(
                            "getfattr",
                            "--absolute-names",
                            "-d",
                            "-m",
                            "-",
                            mnt.resolve("whiteout").toString());
            assertThat(wh).contains("trusted.overlay.overlay.whiteout=");
            assertThat(Files.size(mnt.resolve("sparse"))).isEqualTo(SPARSE_SIZE);
            assertThat(Files.readAllBytes(mnt.resolve("dir with spaces/f64")))
                    .isEqualTo(random(64, 64));
        } finally {
            tool("umount", mnt.toString());
        }
    }

    @Test
    void digestStoreHoldsEachObjectUnderItsFsVerityDigest() throws Exception {
        Root.assumeRoot();
        Path src = buildTree();
        // copying 4 GiB of holes into the store would write 4 GiB: the store is checked without it
        Files.delete(src.resolve("sparse"));
        Path store = tmp.resolve("objects");
        Path image = tmp.resolve("all.cfs");

        CliRun r = kcfs("mkcomposefs", "--digest-store=" + store, src.toString(), image.toString());
        assertThat(r.rc()).as("%s", r).isZero();
        tool("fsck.erofs", image.toString());

        List<String> stored = new ArrayList<>();
        try (Stream<Path> files = Files.walk(store)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                String rel = store.relativize(p).toString();
                if (rel.startsWith(".")) {
                    continue; // the store's own temporary area
                }
                stored.add(rel);
                String digest = tool("fsverity", "digest", "--compact", p.toString()).trim();
                assertThat(rel).isEqualTo(digest.substring(0, 2) + "/" + digest.substring(2));
            }
        }
        CliRun objects = kcfs("info", "objects", image.toString());
        assertThat(stored).containsExactlyInAnyOrderElementsOf(objects.outText().lines().toList());
        // 65, 4095, 4096, 4097 (hardlink shares it) and the six odd names
        assertThat(stored).hasSize(10);
        assertThat(
                        kcfs("info", "--basedir=" + store, "missing-objects", image.toString())
                                .outText())
                .isEmpty();
    }
}
