package dev.kcfs.oci.tar;

import static dev.kcfs.oci.tar.TarBuilder.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.tree.Xattr;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarReaderTest {

    @Test
    void readsEveryEntryType() throws Exception {
        byte[] tar =
                new TarBuilder()
                        .dir("etc/")
                        .entry("etc/passwd")
                        .body("root:x:0:0\n")
                        .mode(0640)
                        .owner(1000, 2000)
                        .mtime(1234567890)
                        .add()
                        .entry("etc/link")
                        .type('1')
                        .link("etc/passwd")
                        .add()
                        .entry("etc/sym")
                        .type('2')
                        .link("../usr/bin/x")
                        .mode(0777)
                        .add()
                        .entry("dev/null")
                        .type('3')
                        .dev(1, 3)
                        .mode(0666)
                        .add()
                        .entry("dev/sda")
                        .type('4')
                        .dev(8, 0)
                        .mode(0660)
                        .add()
                        .entry("run/fifo")
                        .type('6')
                        .mode(0600)
                        .add()
                        .entry("old")
                        .type('\0')
                        .body("old-style regular")
                        .add()
                        .entry("contig")
                        .type('7')
                        .body("contiguous")
                        .add()
                        .build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        assertThat(all)
                .extracting(TarEntry::type)
                .containsExactly(
                        TarEntryType.DIRECTORY,
                        TarEntryType.REGULAR,
                        TarEntryType.HARDLINK,
                        TarEntryType.SYMLINK,
                        TarEntryType.CHAR_DEVICE,
                        TarEntryType.BLOCK_DEVICE,
                        TarEntryType.FIFO,
                        TarEntryType.REGULAR,
                        TarEntryType.REGULAR);
        TarEntry passwd = all.get(1);
        assertThat(passwd.name()).isEqualTo(b("etc/passwd"));
        assertThat(passwd.mode()).isEqualTo(0640);
        assertThat(passwd.uid()).isEqualTo(1000);
        assertThat(passwd.gid()).isEqualTo(2000);
        assertThat(passwd.size()).isEqualTo(11);
        assertThat(passwd.mtimeSec()).isEqualTo(1234567890);
        assertThat(passwd.mtimeNsec()).isZero();
        assertThat(all.get(2).linkName()).isEqualTo(b("etc/passwd"));
        assertThat(all.get(3).linkName()).isEqualTo(b("../usr/bin/x"));
        assertThat(all.get(4).devMajor()).isEqualTo(1);
        assertThat(all.get(4).devMinor()).isEqualTo(3);
        assertThat(all.get(5).devMajor()).isEqualTo(8);
        assertThat(all.get(0).linkName()).isEmpty();
    }

    @Test
    void streamsBodiesAndSkipsUnreadOnes() throws Exception {
        byte[] big = new byte[3 * 512 + 17];
        new java.util.Random(7).nextBytes(big);
        byte[] tar = new TarBuilder().file("a", big).file("b", "second").file("c", big).build();
        TarReader r = new TarReader(new ByteArrayInputStream(tar), "t");
        assertThat(r.next().name()).isEqualTo(b("a"));
        byte[] first = new byte[100];
        assertThat(r.body().readNBytes(first, 0, 100)).isEqualTo(100);
        assertThat(first).isEqualTo(Arrays.copyOf(big, 100));
        TarEntry second = r.next(); // skips the rest of a
        assertThat(second.name()).isEqualTo(b("b"));
        assertThat(r.body().readAllBytes()).isEqualTo(b("second"));
        r.next();
        assertThat(r.body().readAllBytes()).isEqualTo(big);
        assertThat(r.next()).isNull();
        assertThat(r.next()).isNull();
        assertThat(r.offset()).isEqualTo(tar.length - 512); // stops at the first end block
    }

    @Test
    void paxOverridesAndBinaryXattrsAreByteExact() throws Exception {
        byte[] cap = {1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        byte[] nasty = {0, '\n', (byte) 0xff, (byte) 0xc3, '=', ' ', 0x28, (byte) 0x80};
        byte[] nonUtf8Name = {'d', '/', (byte) 0xe9, (byte) 0xff, 'x'};
        String longName = "deep/" + "x".repeat(150) + "/file";
        byte[] tar =
                new TarBuilder()
                        .entry("short")
                        .body("hello")
                        .pax("path", longName)
                        .pax("mtime", "1700000000.123456789123")
                        .pax("uid", "4294967295")
                        .pax("gid", "70000")
                        .xattr("security.capability", cap)
                        .xattr("user.nasty", nasty)
                        .xattr("user.empty", new byte[0])
                        .add()
                        .entry("l")
                        .type('2')
                        .link("x")
                        .pax("linkpath", "/" + "t".repeat(200))
                        .add()
                        .entry("n")
                        .body("x")
                        .pax("path", nonUtf8Name)
                        .pax("mtime", "-1.25")
                        .add()
                        .build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        TarEntry f = all.get(0);
        assertThat(f.name()).isEqualTo(b(longName));
        assertThat(f.mtimeSec()).isEqualTo(1700000000L);
        assertThat(f.mtimeNsec()).isEqualTo(123456789);
        assertThat(f.uid()).isEqualTo(4294967295L);
        assertThat(f.gid()).isEqualTo(70000);
        assertThat(f.xattrs())
                .containsExactly(
                        new Xattr(b("security.capability"), cap),
                        new Xattr(b("user.nasty"), nasty),
                        new Xattr(b("user.empty"), new byte[0]));
        assertThat(all.get(1).linkName()).isEqualTo(b("/" + "t".repeat(200)));
        assertThat(all.get(2).name()).isEqualTo(nonUtf8Name);
        assertThat(all.get(2).mtimeSec()).isEqualTo(-2);
        assertThat(all.get(2).mtimeNsec()).isEqualTo(750_000_000);
    }

    @Test
    void globalPaxHeadersApplyUntilOverridden() throws Exception {
        TarBuilder t = new TarBuilder();
        t.raw(globalHeader("uid=5\n"));
        byte[] tar =
                t.file("a", "1")
                        .entry("b")
                        .body("2")
                        .pax("uid", "7")
                        .add()
                        .entry("c")
                        .body("3")
                        .pax("uid", "")
                        .owner(9, 9)
                        .add()
                        .build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        assertThat(all).extracting(TarEntry::uid).containsExactly(5L, 7L, 9L);
    }

    private static byte[] globalHeader(String kv) {
        byte[] records =
                TarBuilder.paxRecords(
                        java.util.Map.of(
                                kv.substring(0, kv.indexOf('=')),
                                b(kv.substring(kv.indexOf('=') + 1, kv.length() - 1))));
        TarBuilder g = new TarBuilder();
        g.entry("global").type('g').body(records).add();
        return g.buildWithoutEnd();
    }

    @Test
    void libarchiveXattrsAndBadXattrNames() throws Exception {
        byte[] tar =
                new TarBuilder()
                        .entry("f")
                        .pax(
                                "LIBARCHIVE.xattr.user.a%3Db",
                                java.util.Base64.getEncoder()
                                        .encodeToString(new byte[] {0, 1, (byte) 0xfe}))
                        .add()
                        .build();
        assertThat(TarBuilder.readAll(tar).get(0).xattrs())
                .containsExactly(new Xattr(b("user.a=b"), new byte[] {0, 1, (byte) 0xfe}));
        byte[] empty = new TarBuilder().entry("f").pax("SCHILY.xattr.", "v").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(empty))
                .hasMessageContaining("entry f has an xattr with an empty name");
        byte[] notBase64 =
                new TarBuilder().entry("f").pax("LIBARCHIVE.xattr.user.x", "***").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(notBase64)).hasMessageContaining("not base64");
    }

    @Test
    void gnuLongNamesAndLinks() throws Exception {
        String name = "gnu/" + "n".repeat(200) + "/" + "m".repeat(100);
        String link = "target/" + "k".repeat(250);
        byte[] tar =
                new TarBuilder()
                        .entry(name)
                        .type('1')
                        .link(link)
                        .gnuLongName()
                        .gnuLongLink()
                        .add()
                        .entry(name + "2")
                        .body("data")
                        .gnuLongName()
                        .add()
                        .build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        assertThat(all.get(0).name()).isEqualTo(b(name));
        assertThat(all.get(0).linkName()).isEqualTo(b(link));
        assertThat(all.get(1).name()).isEqualTo(b(name + "2"));
    }

    @Test
    void readsWhatCommonsCompressWritesIncludingUstarPrefixAndBase256() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        String prefixed = "p".repeat(120) + "/" + "n".repeat(90);
        try (TarArchiveOutputStream o = new TarArchiveOutputStream(bytes)) {
            o.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            o.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_STAR);
            TarArchiveEntry e = new TarArchiveEntry(prefixed);
            e.setSize(3);
            e.setUserId(3_000_000_000L);
            o.putArchiveEntry(e);
            o.write(b("abc"));
            o.closeArchiveEntry();
        }
        List<TarEntry> all = TarBuilder.readAll(bytes.toByteArray());
        assertThat(all).hasSize(1);
        assertThat(all.get(0).name()).isEqualTo(b(prefixed));
        assertThat(all.get(0).uid()).isEqualTo(3_000_000_000L);
    }

    @Test
    void readsGnuTarPaxArchiveWithRealXattrs(@TempDir Path dir) throws Exception {
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("sub"));
        Files.write(src.resolve("sub/f"), b("content"));
        Process set =
                new ProcessBuilder(
                                "setfattr",
                                "-n",
                                "user.bin",
                                "-v",
                                "0x00ff0a3d20",
                                src.resolve("sub/f").toString())
                        .inheritIO()
                        .start();
        org.junit.jupiter.api.Assumptions.assumeTrue(
                set.waitFor() == 0, "setfattr (user xattrs) does not work on this temp dir");
        Path tarFile = dir.resolve("a.tar");
        Process tar =
                new ProcessBuilder(
                                "tar",
                                "--format=pax",
                                "--xattrs",
                                "--xattrs-include=*",
                                "-C",
                                src.toString(),
                                "-cf",
                                tarFile.toString(),
                                "sub")
                        .inheritIO()
                        .start();
        assertThat(tar.waitFor()).isZero();
        List<TarEntry> all = TarBuilder.readAll(Files.readAllBytes(tarFile));
        TarEntry f =
                all.stream()
                        .filter(e -> Arrays.equals(e.name(), b("sub/f")))
                        .findFirst()
                        .orElseThrow();
        assertThat(f.xattrs())
                .contains(new Xattr(b("user.bin"), new byte[] {0, (byte) 0xff, 0x0a, 0x3d, 0x20}));
        assertThat(f.mtimeSec())
                .isEqualTo(
                        Files.getLastModifiedTime(src.resolve("sub/f"))
                                .toInstant()
                                .getEpochSecond());
    }

    @Test
    void badChecksumIsReported() {
        byte[] tar =
                new TarBuilder()
                        .file("ok", "1")
                        .entry("broken")
                        .body("2")
                        .corruptChecksum()
                        .add()
                        .build();
        assertThatThrownBy(() -> TarBuilder.readAll(tar))
                .isInstanceOf(TarFormatException.class)
                .hasMessageContaining("test.tar")
                .hasMessageContaining("bad header checksum at offset 1024");
    }

    @Test
    void notATarIsReportedAsChecksumError() {
        byte[] junk = new byte[1024];
        Arrays.fill(junk, (byte) 'A');
        assertThatThrownBy(() -> TarBuilder.readAll(junk)).hasMessageContaining("not a tar stream");
    }

    @Test
    void truncatedBodyIsReported() {
        byte[] tar = new TarBuilder().file("big", new byte[5000]).build();
        byte[] cut = Arrays.copyOf(tar, 512 + 3000);
        assertThatThrownBy(
                        () -> {
                            TarReader r =
                                    new TarReader(
                                            new ByteArrayInputStream(cut), "layer sha256:abc");
                            r.next();
                            r.body().readAllBytes();
                        })
                .isInstanceOf(TarFormatException.class)
                .hasMessageContaining("layer sha256:abc")
                .hasMessageContaining(
                        "truncated: entry big expects 5000 bytes, stream ended after 3000");
        assertThatThrownBy(() -> TarBuilder.readAll(cut)).hasMessageContaining("truncated");
    }

    @Test
    void truncatedHeaderAndMissingEndAreReported() throws Exception {
        byte[] tar = new TarBuilder().file("a", "1").file("b", "2").build();
        assertThatThrownBy(() -> TarBuilder.readAll(Arrays.copyOf(tar, 1024 + 100)))
                .hasMessageContaining("truncated: stream ended inside the header after a");
        // a missing end-of-archive block is accepted (umoci writes such layers); a cut after a PAX
        // header is not
        assertThat(TarBuilder.readAll(new TarBuilder().file("a", "1").buildWithoutEnd()))
                .hasSize(1);
        byte[] paxOnly = new TarBuilder().entry("p").pax("path", "x").add().buildWithoutEnd();
        assertThatThrownBy(() -> TarBuilder.readAll(java.util.Arrays.copyOf(paxOnly, 1024)))
                .hasMessageContaining("after an extended header, before its entry");
    }

    /** Go-based writers (umoci insert) may end a layer without the end blocks, or even inside the last padding. */
    @Test
    void missingEndBlocksAndFinalPaddingAreTheEnd() throws Exception {
        byte[] noEnd = new TarBuilder().file("a", "1").file("b", new byte[700]).buildWithoutEnd();
        for (int cut :
                new int[] {512 + 512 + 512 + 700, 512 + 512 + 512 + 700 + 100, noEnd.length}) {
            List<TarEntry> all = TarBuilder.readAll(Arrays.copyOf(noEnd, cut));
            assertThat(all)
                    .as("cut at " + cut)
                    .extracting(TarEntry::displayName)
                    .containsExactly("a", "b");
        }
        // the body itself cut short is still an error
        assertThatThrownBy(
                        () -> {
                            TarReader r =
                                    new TarReader(
                                            new ByteArrayInputStream(
                                                    Arrays.copyOf(noEnd, 512 + 512 + 512 + 600)),
                                            "t");
                            r.next();
                            r.next();
                            r.body().readAllBytes();
                        })
                .hasMessageContaining("truncated: entry b expects 700 bytes");
        // an end block cut short, and an empty layer, are the end too
        byte[] withEnd = new TarBuilder().file("a", "1").build();
        assertThat(TarBuilder.readAll(Arrays.copyOf(withEnd, 1024 + 100))).hasSize(1);
        assertThat(TarBuilder.readAll(new byte[0])).isEmpty();
    }

    @Test
    void kernelLimitsAreCheckedWhenTheEntryIsRead() throws Exception {
        byte[] longName =
                new TarBuilder()
                        .entry("dir/" + "n".repeat(256))
                        .pax("path", "dir/" + "n".repeat(256))
                        .add()
                        .build();
        assertThatThrownBy(() -> TarBuilder.readAll(longName))
                .isInstanceOf(TarFormatException.class)
                .hasMessageContaining("entry dir/nnn")
                .hasMessageContaining("name component of 256 bytes")
                .hasMessageContaining("at most 255 bytes");
        assertThat(
                        TarBuilder.readAll(
                                new TarBuilder()
                                        .entry("n".repeat(255))
                                        .pax("path", "n".repeat(255))
                                        .add()
                                        .build()))
                .hasSize(1);
        byte[] nul = new TarBuilder().entry("x").pax("path", b("etc/pass\0wd")).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(nul))
                .hasMessageContaining("entry etc/pass")
                .hasMessageContaining("NUL byte in its name");
        byte[] nulLink =
                new TarBuilder().entry("l").type('2').pax("linkpath", b("a\0b")).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(nulLink))
                .hasMessageContaining("entry l is a symlink whose target has a NUL");
        byte[] bigValue =
                new TarBuilder().entry("f").xattr("user.big", new byte[200_000]).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(bigValue))
                .hasMessageContaining("entry f has a 200000-byte value for xattr user.big")
                .hasMessageContaining("at most 65535 bytes");
        TarBuilder.Entry many = new TarBuilder().entry("many");
        for (int i = 0; i < 30_000; i++) {
            many.xattr(String.format("user.x%05d", i), new byte[0]);
        }
        byte[] manyXattrs = many.add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(manyXattrs))
                .hasMessageContaining("entry many has 30000 xattrs")
                .hasMessageContaining("65536 bytes of xattr names");
        byte[] longXattrName =
                new TarBuilder()
                        .entry("f")
                        .xattr("user." + "x".repeat(251), new byte[1])
                        .add()
                        .build();
        assertThatThrownBy(() -> TarBuilder.readAll(longXattrName))
                .hasMessageContaining("xattr name of 256 bytes");
        byte[] deep =
                new TarBuilder().entry("x").pax("path", "d/".repeat(2048) + "f").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(deep))
                .hasMessageContaining("is 2049 directories deep")
                .hasMessageContaining("at most 2048 levels");
        assertThat(
                        TarBuilder.readAll(
                                new TarBuilder()
                                        .entry("x")
                                        .pax("path", "d/".repeat(2047) + "f")
                                        .add()
                                        .build()))
                .hasSize(1);
    }

    @Test
    void everyHeaderKindIsBounded() throws Exception {
        TarBuilder manyGlobals = new TarBuilder();
        for (int i = 0; i < 300; i++) {
            manyGlobals
                    .entry("g")
                    .type('g')
                    .body(TarBuilder.paxRecords(java.util.Map.of("comment" + i, b("x"))))
                    .add()
                    .file("f" + i, "1");
        }
        assertThatThrownBy(() -> TarBuilder.readAll(manyGlobals.build()))
                .hasMessageContaining("PAX global header at offset")
                .hasMessageContaining("limit 256 records");
        byte[] bigGlobal =
                new TarBuilder()
                        .entry("g")
                        .type('g')
                        .body(TarBuilder.paxRecords(java.util.Map.of("comment", new byte[70_000])))
                        .add()
                        .file("f", "1")
                        .build();
        assertThatThrownBy(() -> TarBuilder.readAll(bigGlobal)).hasMessageContaining("65536 bytes");
        TarBuilder chain = new TarBuilder();
        for (int i = 0; i < 9; i++) {
            chain.entry("PaxHeader")
                    .type('x')
                    .body(TarBuilder.paxRecords(java.util.Map.of("path", b("p" + i))))
                    .add();
        }
        byte[] chained = chain.file("f", "1").build();
        assertThatThrownBy(() -> TarBuilder.readAll(chained))
                .hasMessageContaining("9th extended header in a row");
        TarBuilder.Entry manyRecords = new TarBuilder().entry("f");
        for (int i = 0; i <= TarReader.MAX_PAX_RECORDS; i++) {
            manyRecords.pax("k" + i, "v");
        }
        byte[] tooManyRecords = manyRecords.add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(tooManyRecords))
                .hasMessageContaining("has more than 65536 records");
        byte[] hugePax =
                new TarBuilder()
                        .entry("f")
                        .pax("comment", new byte[TarReader.MAX_META_SIZE + 1])
                        .add()
                        .build();
        assertThatThrownBy(() -> TarBuilder.readAll(hugePax))
                .hasMessageContaining("PAX header at offset 0 has absurd size");
        // global xattrs within the bounds still apply to every entry, the entry's own win
        byte[] ok =
                new TarBuilder()
                        .entry("g")
                        .type('g')
                        .body(
                                TarBuilder.paxRecords(
                                        java.util.Map.of("SCHILY.xattr.user.g", b("1"))))
                        .add()
                        .entry("a")
                        .xattr("user.g", b("2"))
                        .add()
                        .file("b", "x")
                        .build();
        List<TarEntry> all = TarBuilder.readAll(ok);
        assertThat(all.get(1).xattrs()).contains(new Xattr(b("user.g"), b("1")));
        assertThat(all.get(0).xattrs()).last().isEqualTo(new Xattr(b("user.g"), b("2")));
    }

    /** A layer of many global headers used to cost (entries x global records): now each entry costs its own headers. */
    @Test
    void globalRecordsDoNotMakeEachEntryExpensive() throws Exception {
        java.util.Map<String, byte[]> records = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            records.put("comment" + i, new byte[250]);
        }
        TarBuilder t =
                new TarBuilder().entry("g").type('g').body(TarBuilder.paxRecords(records)).add();
        for (int i = 0; i < 100_000; i++) {
            t.entry("f" + i).add();
        }
        byte[] tar = t.build();
        long start = System.nanoTime();
        assertThat(TarBuilder.readAll(tar)).hasSize(100_000);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void absurdSizesAreRefused() {
        byte[] huge =
                new TarBuilder().entry("huge").pax("size", String.valueOf(1L << 60)).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(huge))
                .hasMessageContaining("entry huge has absurd size 1152921504606846976");
        byte[] negative = new TarBuilder().entry("neg").pax("size", "-5").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(negative))
                .hasMessageContaining("absurd size -5");
        byte[] hugeName =
                new TarBuilder().entry("././@LongLink").type('L').size(1L << 40).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(hugeName))
                .hasMessageContaining("GNU long name at offset 0 has absurd size");
        byte[] hugeUid = new TarBuilder().entry("u").pax("uid", "99999999999").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(hugeUid))
                .hasMessageContaining("uid 99999999999, outside");
    }

    @Test
    void unsupportedTypesAreNamed() {
        byte[] sparse = new TarBuilder().entry("sparse.img").type('S').add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(sparse))
                .isInstanceOf(TarFormatException.class)
                .hasMessageContaining("entry sparse.img at offset 0 has unsupported type 'S'");
        byte[] paxSparse = new TarBuilder().entry("s2").pax("GNU.sparse.major", "1").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(paxSparse))
                .hasMessageContaining("GNU sparse file");
    }

    @Test
    void malformedPaxIsReported() {
        byte[] bad =
                new TarBuilder()
                        .entry("PaxHeader")
                        .type('x')
                        .body("99 path=x\n")
                        .add()
                        .file("f", "1")
                        .build();
        assertThatThrownBy(() -> TarBuilder.readAll(bad))
                .hasMessageContaining("malformed PAX record");
        byte[] notNumber = new TarBuilder().entry("m").pax("mtime", "soon").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(notNumber))
                .hasMessageContaining("PAX mtime that is not a time: 'soon'");
        byte[] notOctal = new TarBuilder().file("f", "1").build();
        notOctal[100] = '9';
        fixChecksum(notOctal);
        assertThatThrownBy(() -> TarBuilder.readAll(notOctal))
                .hasMessageContaining("mode field is not octal");
    }

    private static void fixChecksum(byte[] h) {
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += h[i] & 0xff;
        }
        byte[] s = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, h, 148, 8);
    }

    @Test
    void devicesOutsideTheKernelsDevTAreRefused() throws Exception {
        byte[] wide = new TarBuilder().entry("dev/x").type('3').dev(4096, 1).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(wide))
                .hasMessageContaining("entry dev/x has device 4096:1");
        assertThat(
                        TarBuilder.readAll(
                                new TarBuilder()
                                        .entry("dev/y")
                                        .type('4')
                                        .dev(4095, 1048575)
                                        .add()
                                        .build()))
                .hasSize(1);
    }
}
