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
import java.util.Arrays;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarReaderTest {

    @Test
    void readsEveryEntryType() throws Exception {
        byte[] tar = new TarBuilder()
                .dir("etc/")
                .entry("etc/passwd").body("root:x:0:0\n").mode(0640).owner(1000, 2000).mtime(1234567890).add()
                .entry("etc/link").type('1').link("etc/passwd").add()
                .entry("etc/sym").type('2').link("../usr/bin/x").mode(0777).add()
                .entry("dev/null").type('3').dev(1, 3).mode(0666).add()
                .entry("dev/sda").type('4').dev(8, 0).mode(0660).add()
                .entry("run/fifo").type('6').mode(0600).add()
                .entry("old").type('\0').body("old-style regular").add()
                .entry("contig").type('7').body("contiguous").add()
                .build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        assertThat(all).extracting(TarEntry::type).containsExactly(TarEntryType.DIRECTORY, TarEntryType.REGULAR,
                TarEntryType.HARDLINK, TarEntryType.SYMLINK, TarEntryType.CHAR_DEVICE, TarEntryType.BLOCK_DEVICE,
                TarEntryType.FIFO, TarEntryType.REGULAR, TarEntryType.REGULAR);
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
        byte[] tar = new TarBuilder()
                .entry("short").body("hello").pax("path", longName)
                .pax("mtime", "1700000000.123456789123").pax("uid", "4294967295").pax("gid", "70000")
                .xattr("security.capability", cap).xattr("user.nasty", nasty).xattr("user.empty", new byte[0]).add()
                .entry("l").type('2').link("x").pax("linkpath", "/" + "t".repeat(200)).add()
                .entry("n").body("x").pax("path", nonUtf8Name).pax("mtime", "-1.25").add()
                .build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        TarEntry f = all.get(0);
        assertThat(f.name()).isEqualTo(b(longName));
        assertThat(f.mtimeSec()).isEqualTo(1700000000L);
        assertThat(f.mtimeNsec()).isEqualTo(123456789);
        assertThat(f.uid()).isEqualTo(4294967295L);
        assertThat(f.gid()).isEqualTo(70000);
        assertThat(f.xattrs()).containsExactly(new Xattr(b("security.capability"), cap), new Xattr(b("user.nasty"), nasty),
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
        byte[] tar = t.file("a", "1").entry("b").body("2").pax("uid", "7").add().entry("c").body("3").pax("uid", "").owner(9, 9).add().build();
        List<TarEntry> all = TarBuilder.readAll(tar);
        assertThat(all).extracting(TarEntry::uid).containsExactly(5L, 7L, 9L);
    }

    private static byte[] globalHeader(String kv) {
        byte[] records = TarBuilder.paxRecords(java.util.Map.of(kv.substring(0, kv.indexOf('=')),
                b(kv.substring(kv.indexOf('=') + 1, kv.length() - 1))));
        TarBuilder g = new TarBuilder();
        g.entry("global").type('g').body(records).add();
        return g.buildWithoutEnd();
    }

    @Test
    void libarchiveXattrsAndBadXattrNames() throws Exception {
        byte[] tar = new TarBuilder().entry("f").pax("LIBARCHIVE.xattr.user.a%3Db", java.util.Base64.getEncoder().encodeToString(new byte[] {0, 1, (byte) 0xfe}))
                .add().build();
        assertThat(TarBuilder.readAll(tar).get(0).xattrs()).containsExactly(new Xattr(b("user.a=b"), new byte[] {0, 1, (byte) 0xfe}));
        byte[] empty = new TarBuilder().entry("f").pax("SCHILY.xattr.", "v").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(empty)).hasMessageContaining("entry f has an xattr with an empty name");
        byte[] notBase64 = new TarBuilder().entry("f").pax("LIBARCHIVE.xattr.user.x", "***").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(notBase64)).hasMessageContaining("not base64");
    }

    @Test
    void gnuLongNamesAndLinks() throws Exception {
        String name = "gnu/" + "n".repeat(300);
        String link = "target/" + "k".repeat(250);
        byte[] tar = new TarBuilder().entry(name).type('1').link(link).gnuLongName().gnuLongLink().add()
                .entry(name + "2").body("data").gnuLongName().add().build();
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
        Process set = new ProcessBuilder("setfattr", "-n", "user.bin", "-v", "0x00ff0a3d20", src.resolve("sub/f").toString())
                .inheritIO().start();
        org.junit.jupiter.api.Assumptions.assumeTrue(set.waitFor() == 0, "setfattr (user xattrs) does not work on this temp dir");
        Path tarFile = dir.resolve("a.tar");
        Process tar = new ProcessBuilder("tar", "--format=pax", "--xattrs", "--xattrs-include=*", "-C", src.toString(),
                "-cf", tarFile.toString(), "sub").inheritIO().start();
        assertThat(tar.waitFor()).isZero();
        List<TarEntry> all = TarBuilder.readAll(Files.readAllBytes(tarFile));
        TarEntry f = all.stream().filter(e -> Arrays.equals(e.name(), b("sub/f"))).findFirst().orElseThrow();
        assertThat(f.xattrs()).contains(new Xattr(b("user.bin"), new byte[] {0, (byte) 0xff, 0x0a, 0x3d, 0x20}));
        assertThat(f.mtimeSec()).isEqualTo(Files.getLastModifiedTime(src.resolve("sub/f")).toInstant().getEpochSecond());
    }

    @Test
    void badChecksumIsReported() {
        byte[] tar = new TarBuilder().file("ok", "1").entry("broken").body("2").corruptChecksum().add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(tar)).isInstanceOf(TarFormatException.class)
                .hasMessageContaining("test.tar").hasMessageContaining("bad header checksum at offset 1024");
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
        assertThatThrownBy(() -> {
            TarReader r = new TarReader(new ByteArrayInputStream(cut), "layer sha256:abc");
            r.next();
            r.body().readAllBytes();
        }).isInstanceOf(TarFormatException.class).hasMessageContaining("layer sha256:abc")
                .hasMessageContaining("truncated: entry big expects 5000 bytes, stream ended after 3000");
        assertThatThrownBy(() -> TarBuilder.readAll(cut)).hasMessageContaining("truncated");
    }

    @Test
    void truncatedHeaderAndMissingEndAreReported() throws Exception {
        byte[] tar = new TarBuilder().file("a", "1").build();
        assertThatThrownBy(() -> TarBuilder.readAll(Arrays.copyOf(tar, 1024 + 100)))
                .hasMessageContaining("truncated: stream ended inside the header after a");
        // a missing end-of-archive block is accepted (umoci writes such layers); a cut after a PAX header is not
        assertThat(TarBuilder.readAll(new TarBuilder().file("a", "1").buildWithoutEnd())).hasSize(1);
        byte[] paxOnly = new TarBuilder().entry("p").pax("path", "x").add().buildWithoutEnd();
        assertThatThrownBy(() -> TarBuilder.readAll(java.util.Arrays.copyOf(paxOnly, 1024)))
                .hasMessageContaining("after an extended header, before its entry");
        assertThatThrownBy(() -> TarBuilder.readAll(new byte[0])).hasMessageContaining("truncated: the stream is empty");
    }

    @Test
    void absurdSizesAreRefused() {
        byte[] huge = new TarBuilder().entry("huge").pax("size", String.valueOf(1L << 60)).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(huge)).hasMessageContaining("entry huge has absurd size 1152921504606846976");
        byte[] negative = new TarBuilder().entry("neg").pax("size", "-5").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(negative)).hasMessageContaining("absurd size -5");
        byte[] hugeName = new TarBuilder().entry("././@LongLink").type('L').size(1L << 40).add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(hugeName)).hasMessageContaining("GNU long name at offset 0 has absurd size");
        byte[] hugeUid = new TarBuilder().entry("u").pax("uid", "99999999999").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(hugeUid)).hasMessageContaining("uid 99999999999, outside");
    }

    @Test
    void unsupportedTypesAreNamed() {
        byte[] sparse = new TarBuilder().entry("sparse.img").type('S').add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(sparse)).isInstanceOf(TarFormatException.class)
                .hasMessageContaining("entry sparse.img at offset 0 has unsupported type 'S'");
        byte[] paxSparse = new TarBuilder().entry("s2").pax("GNU.sparse.major", "1").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(paxSparse)).hasMessageContaining("GNU sparse file");
    }

    @Test
    void malformedPaxIsReported() {
        byte[] bad = new TarBuilder().entry("PaxHeader").type('x').body("99 path=x\n").add().file("f", "1").build();
        assertThatThrownBy(() -> TarBuilder.readAll(bad)).hasMessageContaining("malformed PAX record");
        byte[] notNumber = new TarBuilder().entry("m").pax("mtime", "soon").add().build();
        assertThatThrownBy(() -> TarBuilder.readAll(notNumber)).hasMessageContaining("PAX mtime that is not a time: 'soon'");
        byte[] notOctal = new TarBuilder().file("f", "1").build();
        notOctal[100] = '9';
        fixChecksum(notOctal);
        assertThatThrownBy(() -> TarBuilder.readAll(notOctal)).hasMessageContaining("mode field is not octal");
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
}
