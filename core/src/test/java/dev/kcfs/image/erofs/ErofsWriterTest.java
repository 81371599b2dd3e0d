package dev.kcfs.image.erofs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.image.ConformanceAssets;
import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.dump.DumpPrinter;
import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Stat;
import dev.kcfs.tree.TreeWalker;
import dev.kcfs.tree.Xattr;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ErofsWriterTest {
    static final String ROOT = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
    static final String WHITEOUT = ROOT + "/wh 0 20644 1 0 0 0 0.0 - - -\n";

    @TempDir Path tmp;

    static Directory parse(String dump) throws Exception {
        return DumpParser.parse(dump.getBytes(StandardCharsets.ISO_8859_1), true);
    }

    static byte[] write(Directory root, WriteOptions o) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ErofsWriter.WriteResult r = ErofsWriter.write(root, o, out);
        byte[] img = out.toByteArray();
        assertThat(ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN).getInt(12))
                .isEqualTo(r.version());
        return img;
    }

    static String print(Directory root) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DumpPrinter.print(root, out);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @ParameterizedTest(name = "min {0} max {1} whiteout {2} -> v{3}")
    @CsvSource({
        "0, 1, true, 1",
        "0, 1, false, 0",
        "0, 0, true, 0",
        "1, 1, false, 1",
        "1, 0, false, 1"
    })
    void versionSelection(int min, int max, boolean whiteout, int expected) throws Exception {
        Directory root = parse(whiteout ? WHITEOUT : ROOT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ErofsWriter.write(root, new WriteOptions(min, max), out).version())
                .isEqualTo(expected);
    }

    @Test
    void versionsOutsideZeroAndOneAreRejected() {
        assertThatThrownBy(() -> new WriteOptions(2, 2))
                .hasMessageContaining("unsupported composefs format version 2")
                .hasMessageContaining("supported: 0 to 1");
        assertThatThrownBy(() -> new WriteOptions(-1, 1))
                .hasMessageContaining("unsupported composefs format version -1");
    }

    @Test
    void oneRangeAndOneDefaultOfImageFormatVersions() throws Exception {
        assertThat(ErofsFormat.MIN_FORMAT_VERSION).isZero();
        assertThat(ErofsFormat.MAX_FORMAT_VERSION).isEqualTo(1);
        assertThat(ErofsFormat.isSupportedFormatVersion(ErofsFormat.DEFAULT_FORMAT_VERSION))
                .isTrue();
        assertThat(ErofsFormat.isSupportedFormatVersion(ErofsFormat.MIN_FORMAT_VERSION - 1))
                .isFalse();
        assertThat(ErofsFormat.isSupportedFormatVersion(ErofsFormat.MAX_FORMAT_VERSION + 1))
                .isFalse();
        // the writer writes every version of the range
        for (int v = ErofsFormat.MIN_FORMAT_VERSION; v <= ErofsFormat.MAX_FORMAT_VERSION; v++) {
            assertThat(
                            ErofsWriter.write(
                                            parse(ROOT),
                                            WriteOptions.pinned(v),
                                            new ByteArrayOutputStream())
                                    .version())
                    .isEqualTo(v);
        }
    }

    @Test
    void doesNotMutateTheCallersTree() throws Exception {
        for (var a : ConformanceAssets.withChecksum()) {
            if (a.name().startsWith("f36") || a.name().startsWith("cs9")) {
                continue; // large; the small ones cover every rewrite rule
            }
            Directory root = DumpParser.parse(a.dumpBytes(), a.strict());
            String before = print(root);
            List<List<Xattr>> xattrs =
                    TreeWalker.entries(root).stream().map(e -> e.inode().xattrs()).toList();
            write(root, a.options());
            assertThat(print(root)).as(a.name()).isEqualTo(before);
            assertThat(TreeWalker.entries(root).stream().map(e -> e.inode().xattrs()).toList())
                    .isEqualTo(xattrs);
        }
    }

    @Test
    void writesAtomicallyToAFile() throws Exception {
        Path f = tmp.resolve("x.cfs");
        ErofsWriter.WriteResult r = ErofsWriter.write(parse(ROOT), WriteOptions.defaults(), f);
        assertThat(Files.size(f)).isEqualTo(r.size()).isEqualTo(16384);
        Directory tooBig = parse(ROOT + "/big 9500000000000000 100644 1 0 0 0 0.0 - - -\n");
        assertThatThrownBy(() -> ErofsWriter.write(tooBig, WriteOptions.defaults(), f))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("File too large: /big");
        assertThat(Files.size(f)).as("old file untouched").isEqualTo(16384);
        try (var s = Files.list(tmp)) {
            assertThat(s.toList()).containsExactly(f);
        }
    }

    @Test
    void existingStubNamesAreNotDuplicated() throws Exception {
        Directory root =
                parse(ROOT + "/00 0 100644 1 0 0 0 0.0 - - -\n/ff 4096 40755 2 0 0 0 0.0 - - -\n");
        byte[] img = write(root, WriteOptions.defaults());
        ErofsReader.Image back = ErofsReader.read(img, "stubs", null);
        assertThat(back.inodes()).isEqualTo(257); // root + 254 stubs + 2 real entries
        assertThat(back.root().size()).isEqualTo(2);
    }

    @Test
    void rejectsTreesTheFormatCannotHold() throws Exception {
        Stat st = new Stat(0100644, 0, 0, 1, 0, 0);
        Directory root = parse(ROOT);
        root.put(
                "f".getBytes(StandardCharsets.US_ASCII),
                new RegularFile(st, List.of(), 5, null, new byte[3], null));
        assertThatThrownBy(() -> write(root, WriteOptions.defaults()))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("/f: inline content has 3 bytes but size is 5");
        Directory root2 = parse(ROOT);
        root2.put(
                "a/b".getBytes(StandardCharsets.US_ASCII),
                new RegularFile(st, List.of(), 0, null, null, null));
        assertThatThrownBy(() -> write(root2, WriteOptions.defaults()))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("Invalid file name");
    }

    @Test
    void boundarySizesRoundTripAndPassFsck() throws Exception {
        StringBuilder d = new StringBuilder(ROOT);
        java.util.Random r = new java.util.Random(3);
        // inline contents around the 2048 (tail) and 4096 (block) boundaries
        for (int size : new int[] {1, 63, 2047, 2048, 2049, 4095, 4096, 4097, 5000}) {
            StringBuilder c = new StringBuilder();
            for (int i = 0; i < size; i++) {
                c.append(String.format("\\x%02x", r.nextInt(256)));
            }
            d.append("/f")
                    .append(size)
                    .append(' ')
                    .append(size)
                    .append(" 100644 1 0 0 0 ")
                    .append(size)
                    .append(".0 - ")
                    .append(c)
                    .append(" -\n");
        }
        // symlinks whose inode + target do or do not fit in a block
        for (int len : new int[] {1, 2000, 4000, 4095}) {
            d.append("/l")
                    .append(len)
                    .append(' ')
                    .append(len)
                    .append(" 120777 1 0 0 0 0.0 ")
                    .append("t".repeat(len))
                    .append(" - -\n");
        }
        // a directory needing several dirent blocks, and one whose last block is just over half
        // full
        d.append("/many 0 40755 2 0 0 0 0.0 - - -\n");
        for (int i = 0; i < 700; i++) {
            d.append("/many/entry-")
                    .append(String.format("%05d", i))
                    .append(" 0 100644 1 0 0 0 0.0 - - -\n");
        }
        // an inode with more than 128 shareable xattrs (the rest must go inline)
        StringBuilder xs = new StringBuilder();
        for (int i = 0; i < 140; i++) {
            xs.append(" user.k").append(String.format("%03d", i)).append("=v");
        }
        d.append("/x1 0 100644 1 0 0 0 0.0 - - -").append(xs).append("\n");
        d.append("/x2 0 100644 1 0 0 0 0.0 - - -").append(xs).append("\n");
        d.append("/huge 10000000000 100644 1 0 0 0 0.0 ab/cd - -\n");
        Directory root = parse(d.toString());
        Path f = tmp.resolve("b.cfs");
        ErofsWriter.write(root, WriteOptions.defaults(), f);
        dev.kcfs.image.Fsck.assertClean(dev.kcfs.image.Fsck.binary(), f, true);
        ErofsReader.Image back = ErofsReader.read(f);
        Directory b = back.root();
        for (var e : root.children().entrySet()) {
            Inode in = e.getValue();
            Inode out = b.child(e.getKey());
            String name = new String(e.getKey(), StandardCharsets.UTF_8);
            if (in instanceof RegularFile rf && rf.isInline()) {
                assertThat(java.util.Arrays.equals(((RegularFile) out).content(), rf.content()))
                        .as(name)
                        .isTrue();
            } else if (in instanceof dev.kcfs.tree.Symlink l) {
                assertThat(
                                java.util.Arrays.equals(
                                        ((dev.kcfs.tree.Symlink) out).target(), l.target()))
                        .as(name)
                        .isTrue();
            } else if (in instanceof Directory dir) {
                assertThat(((Directory) out).size()).as(name).isEqualTo(dir.size());
            }
            // xattrs come back in image order (inline, then shared), so compare them as sets
            assertThat(new java.util.HashSet<>(out.xattrs()))
                    .as(name)
                    .isEqualTo(new java.util.HashSet<>(in.xattrs()));
        }
        byte[] again = write(b, WriteOptions.pinned(back.version()));
        assertThat(java.util.Arrays.equals(again, Files.readAllBytes(f)))
                .as("image -> reader -> writer is identical")
                .isTrue();
    }

    @Test
    void xxh32MatchesReferenceVectors() {
        assertThat(Xxh32.hash(new byte[0], 0, 0, 0)).isEqualTo(0x02CC5D05);
        byte[] abc = "abc".getBytes(StandardCharsets.US_ASCII);
        assertThat(Xxh32.hash(abc, 0, 3, 0)).isEqualTo(0x32D153FF);
        byte[] fox = "Nobody inspects the spammish repetition".getBytes(StandardCharsets.US_ASCII);
        assertThat(Xxh32.hash(fox, 0, fox.length, 0)).isEqualTo(0xE2293B2F);
    }

    @Test
    void hardlinkShallowerThanItsTargetRoundTrips() throws Exception {
        Directory root =
                parse(
                        ROOT
                                + "/a 4096 40755 2 0 0 0 0.0 - - -\n/a/b 4096 40755 2 0 0 0 0.0 - - -\n"
                                + "/a/b/t 3 100644 2 0 0 0 0.0 - xyz -\n/z 0 @100644 2 0 0 0 0.0 /a/b/t - -\n"
                                + "/y 7 100644 2 0 9 0 0.0 p - - user.x=1\n");
        byte[] img = write(root, WriteOptions.defaults());
        ErofsReader.Image back = ErofsReader.read(img, "hl", null);
        assertThat(write(back.root(), WriteOptions.pinned(back.version()))).isEqualTo(img);
    }

    @Test
    void hardlinkedInodeIsPlacedAtItsDepthFirstOccurrenceLikeUpstreamsTarget() throws Exception {
        // composefs-info prints /a/b/t as the target and /z as "@": upstream places the inode at
        // /a/b/t's breadth-first position (depth 3), after the root's other children
        Directory root =
                parse(
                        ROOT
                                + "/a 4096 40755 2 0 0 0 0.0 - - -\n/a/b 4096 40755 2 0 0 0 0.0 - - -\n"
                                + "/a/b/t 3 100644 2 0 0 0 0.0 - xyz -\n/z 3 @100644 2 0 0 0 0.0 /a/b/t - -\n");
        ByteBuffer img =
                ByteBuffer.wrap(write(root, WriteOptions.defaults()))
                        .order(ByteOrder.LITTLE_ENDIAN);
        assertThat(img.getLong(1024 + 16)).isEqualTo(1 + 256 + 3); // inos
        // the file is the last inode: ino = 259 (root 0, a, stubs, b, t)
        int found = -1;
        for (int off = 1152; off < img.capacity() - 32; off += 32) {
            if ((img.getShort(off + 4) & 0xffff) == 0100644) {
                found = img.getInt(off + 20);
            }
        }
        assertThat(found).isEqualTo(259);
    }

    @Test
    void hardlinkedInodeIsWrittenOnce() throws Exception {
        Directory root =
                parse(ROOT + "/a 3 100644 2 0 0 0 0.0 - abc -\n/b 0 @100644 2 0 0 0 0.0 /a - -\n");
        Inode a = root.child("a".getBytes(StandardCharsets.US_ASCII));
        ErofsReader.Image back = ErofsReader.read(write(root, WriteOptions.defaults()), "hl", null);
        assertThat(back.inodes()).isEqualTo(1 + 256 + 1);
        assertThat(back.root().child("b".getBytes(StandardCharsets.US_ASCII)))
                .isSameAs(back.root().child("a".getBytes(StandardCharsets.US_ASCII)));
        assertThat(a.stat().nlink()).isEqualTo(2);
    }

    @Test
    void idsWiderThan32BitsAreRefusedNotTruncated() {
        Directory root = new Directory(new Stat(0040755, 0, 0, 2, 0, 0), List.of());
        root.put(
                "f".getBytes(StandardCharsets.US_ASCII),
                new RegularFile(
                        new Stat(0100644, 1L << 32, 0, 1, 0, 0), List.of(), 0, null, null, null));
        assertThatThrownBy(() -> write(root, WriteOptions.defaults()))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("/f: uid 4294967296")
                .hasMessageContaining("does not fit the image's 32 bits");
    }

    /** One depth limit: what the writer accepts the reader reads back (the reader used to refuse some). */
    @Test
    void writerAndReaderShareOneDepthLimit() throws Exception {
        byte[] img = write(nested(ImageLimits.MAX_DEPTH), WriteOptions.defaults());
        // on a thread with the JVM's default 1 MiB stack, as the CLI's and the node's workers have
        java.util.concurrent.atomic.AtomicReference<Object> read =
                new java.util.concurrent.atomic.AtomicReference<>();
        Thread t =
                new Thread(
                        null,
                        () -> {
                            try {
                                read.set(ErofsReader.read(img, "deep", null).root());
                            } catch (Throwable e) {
                                read.set(e);
                            }
                        },
                        "small-stack",
                        1 << 20);
        t.start();
        t.join();
        assertThat(read.get()).isInstanceOf(Directory.class);
        Directory d = (Directory) read.get();
        int depth = 0;
        while (d.child("d".getBytes(StandardCharsets.US_ASCII)) instanceof Directory next) {
            d = next;
            depth++;
        }
        assertThat(depth).isEqualTo(ImageLimits.MAX_DEPTH);
        assertThatThrownBy(() -> write(nested(ImageLimits.MAX_DEPTH + 1), WriteOptions.defaults()))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("is 2049 levels deep; images nest at most 2048 levels");
    }

    private static Directory nested(int depth) {
        Directory root = new Directory(new Stat(0040755, 0, 0, 2, 0, 0), List.of());
        Directory d = root;
        for (int i = 0; i < depth; i++) {
            Directory next = new Directory(new Stat(0040755, 0, 0, 2, 0, 0), List.of());
            d.put("d".getBytes(StandardCharsets.US_ASCII), next);
            d = next;
        }
        return root;
    }
}
