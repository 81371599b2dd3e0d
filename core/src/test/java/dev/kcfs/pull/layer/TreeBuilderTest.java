package dev.kcfs.pull.layer;

import static dev.kcfs.oci.tar.TarBuilder.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.kcfs.oci.tar.TarBuilder;
import dev.kcfs.oci.tar.TarFormatException;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TreeBuilderTest {

    /** A sink that remembers bodies by digest, like a store would. */
    static final class MemorySink implements BodySink {
        final Map<Digest, byte[]> objects = new ConcurrentHashMap<>();

        @Override
        public Digest add(java.io.InputStream body, long size) throws IOException {
            byte[] data = body.readAllBytes();
            Digest d = FsVerity.digest(data);
            objects.put(d, data);
            return d;
        }
    }

    static Directory build(BodySink sink, BodyPipeline pipeline, byte[]... layers)
            throws IOException {
        TreeBuilder t = new TreeBuilder(sink, pipeline);
        for (int i = 0; i < layers.length; i++) {
            t.apply(new ByteArrayInputStream(layers[i]), "layer" + i);
        }
        return t.finish();
    }

    static Directory build(byte[]... layers) throws IOException {
        return build(new MemorySink(), null, layers);
    }

    static Inode at(Directory root, String path) {
        Inode i = root;
        for (String c : path.split("/")) {
            if (c.isEmpty()) {
                continue;
            }
            i = i == null ? null : ((Directory) i).child(b(c));
        }
        return i;
    }

    @Test
    void mapsEveryEntryTypeAndMetadata() throws Exception {
        byte[] big = new byte[10_000];
        new Random(1).nextBytes(big);
        byte[] cap = {1, 0, 0, 2, (byte) 0xff, 0, 0, 0};
        MemorySink sink = new MemorySink();
        Directory root =
                build(
                        sink,
                        null,
                        new TarBuilder()
                                .entry("./")
                                .type('5')
                                .mode(0700)
                                .owner(1, 2)
                                .mtime(99)
                                .add()
                                .entry("usr/bin/tool")
                                .body(big)
                                .mode(04755)
                                .pax("mtime", "1700000000.5")
                                .xattr("security.capability", cap)
                                .add()
                                .entry("usr/bin/small")
                                .body("#!/bin/sh\n")
                                .mode(0755)
                                .add()
                                .entry("usr/bin/sixtyfour")
                                .body(new byte[64])
                                .add()
                                .entry("usr/bin/sixtyfive")
                                .body(new byte[65])
                                .add()
                                .entry("empty")
                                .add()
                                .entry("usr/bin/hard")
                                .type('1')
                                .link("usr/bin/tool")
                                .add()
                                .entry("/abs/sym")
                                .type('2')
                                .link("/usr/bin/tool")
                                .mode(0777)
                                .add()
                                .entry("dev/tty")
                                .type('3')
                                .dev(5, 0)
                                .mode(0666)
                                .add()
                                .entry("dev/loop0")
                                .type('4')
                                .dev(7, 0)
                                .mode(0660)
                                .add()
                                .entry("./run//fifo")
                                .type('6')
                                .mode(0644)
                                .add()
                                .build());
        String text = TreeText.render(root);
        Digest bigDigest = FsVerity.digest(big);
        assertThat(text)
                .isEqualTo(
                        String.join(
                                "\n",
                                "/ 40700 1:2 n6 t99.0",
                                "/abs 40755 0:0 n2 t0.0",
                                "/abs/sym 120777 0:0 n1 t1700000000.0 -> /usr/bin/tool",
                                "/dev 40755 0:0 n2 t0.0",
                                "/dev/loop0 60660 0:0 n1 t1700000000.0 dev=7,0",
                                "/dev/tty 20666 0:0 n1 t1700000000.0 dev=5,0",
                                "/empty 100644 0:0 n1 t1700000000.0 size=0",
                                "/run 40755 0:0 n2 t0.0",
                                "/run/fifo 10644 0:0 n1 t1700000000.0",
                                "/usr 40755 0:0 n3 t0.0",
                                "/usr/bin 40755 0:0 n2 t0.0",
                                "/usr/bin/hard 104755 0:0 n2 t1700000000.500000000 size=10000 digest="
                                        + bigDigest.hex()
                                        + " payload="
                                        + bigDigest.objectPath()
                                        + " security.capability=0x01000002ff000000",
                                "/usr/bin/sixtyfive 100644 0:0 n1 t1700000000.0 size=65 digest="
                                        + FsVerity.digest(new byte[65]).hex()
                                        + " payload="
                                        + FsVerity.digest(new byte[65]).objectPath(),
                                "/usr/bin/sixtyfour 100644 0:0 n1 t1700000000.0 size=64 inline="
                                        + "00".repeat(64),
                                "/usr/bin/small 100755 0:0 n1 t1700000000.0 size=10 inline=23212f62696e2f73680a",
                                "/usr/bin/tool => /usr/bin/hard",
                                ""));
        assertThat(at(root, "usr/bin/hard")).isSameAs(at(root, "usr/bin/tool"));
        assertThat(sink.objects).containsOnlyKeys(bigDigest, FsVerity.digest(new byte[65]));
        assertThat(sink.objects.get(bigDigest)).isEqualTo(big);
    }

    @Test
    void whiteoutsAndOpaqueDirectoriesAcrossLayers() throws Exception {
        byte[] lower =
                new TarBuilder()
                        .file("a/keep", "k")
                        .file("a/gone", "g")
                        .file("a/sub/deep", "d")
                        .file("o/lower1", "1")
                        .file("o/sub/lower2", "2")
                        .file("o2/lower", "x")
                        .file("top", "t")
                        .dir("d/")
                        .file("d/x", "x")
                        .build();
        byte[] upper =
                new TarBuilder()
                        .entry("a/.wh.gone")
                        .add()
                        .entry("a/.wh.sub")
                        .add()
                        .entry(".wh.top")
                        .add()
                        .entry(".wh.nonexistent")
                        .add()
                        .entry("nope/.wh.x")
                        .add() // parent missing: nothing created
                        .file("o/-early", "before the marker") // sorts before .wh..wh..opq
                        .dir("o/sub/")
                        .file("o/sub/new", "n")
                        .entry("o/.wh..wh..opq")
                        .add()
                        .file("o/zlate", "after the marker")
                        .entry("o2/.wh..wh..opq")
                        .add()
                        .file("same", "written in this layer")
                        .entry(".wh.same")
                        .add() // same-layer entries are not whited out
                        .entry(".wh..wh.plnk")
                        .add() // aufs metadata ignored
                        .entry("d")
                        .body("file replaces dir")
                        .add()
                        .build();
        Directory root = build(lower, upper);
        String text = TreeText.render(root).replaceAll(" n\\d+ t\\S+", "");
        assertThat(text)
                .isEqualTo(
                        String.join(
                                "\n",
                                "/ 40755 0:0",
                                "/a 40755 0:0",
                                "/a/keep 100644 0:0 size=1 inline=6b",
                                "/d 100644 0:0 size=17 inline=" + hex("file replaces dir"),
                                "/o 40755 0:0",
                                "/o/-early 100644 0:0 size=17 inline=" + hex("before the marker"),
                                "/o/sub 40755 0:0",
                                "/o/sub/new 100644 0:0 size=1 inline=6e",
                                "/o/zlate 100644 0:0 size=16 inline=" + hex("after the marker"),
                                "/o2 40755 0:0",
                                "/same 100644 0:0 size=21 inline=" + hex("written in this layer"),
                                ""));
    }

    @Test
    void directoryEntryOverExistingDirectoryKeepsChildren() throws Exception {
        Directory root =
                build(
                        new TarBuilder().file("etc/a", "1").build(),
                        new TarBuilder()
                                .entry("etc/")
                                .type('5')
                                .mode(0700)
                                .owner(3, 4)
                                .mtime(5)
                                .add()
                                .file("etc/b", "2")
                                .build());
        Directory etc = (Directory) at(root, "etc");
        assertThat(etc.stat().mode()).isEqualTo(040700);
        assertThat(etc.stat().uid()).isEqualTo(3);
        assertThat(etc.children()).hasSize(2);
    }

    @Test
    void laterLayersOverrideAndHardlinksSplitWhenOneNameIsReplaced() throws Exception {
        byte[] body = new byte[200];
        Directory root =
                build(
                        new TarBuilder()
                                .file("x", body)
                                .entry("y")
                                .type('1')
                                .link("x")
                                .add()
                                .build(),
                        new TarBuilder().file("y", "new").build());
        assertThat(((RegularFile) at(root, "x")).stat().nlink()).isEqualTo(1);
        assertThat(((RegularFile) at(root, "y")).content()).isEqualTo(b("new"));
    }

    @Test
    void hardlinkToLowerLayerFile() throws Exception {
        Directory root =
                build(
                        new TarBuilder().file("x", new byte[100]).build(),
                        new TarBuilder().entry("z").type('1').link("./x").add().build());
        assertThat(at(root, "z")).isSameAs(at(root, "x"));
        assertThat(at(root, "z").stat().nlink()).isEqualTo(2);
    }

    @Test
    void pathsThatCouldEscapeAreRefused() {
        assertThatThrownBy(() -> build(new TarBuilder().file("../etc/passwd", "x").build()))
                .isInstanceOf(TarFormatException.class)
                .hasMessageContaining("layer0: entry ../etc/passwd has a '..' component");
        assertThatThrownBy(() -> build(new TarBuilder().file("a/b/../../../x", "x").build()))
                .hasMessageContaining("'..' component");
        assertThatThrownBy(
                        () ->
                                build(
                                        new TarBuilder()
                                                .entry("lib")
                                                .type('2')
                                                .link("/usr/lib")
                                                .add()
                                                .file("lib/evil", "x")
                                                .build()))
                .hasMessageContaining("entry lib/evil goes through the symlink /lib (refused");
        assertThatThrownBy(() -> build(new TarBuilder().file("f", "x").file("f/g", "y").build()))
                .hasMessageContaining("goes through /f, which is not a directory");
        assertThatThrownBy(
                        () ->
                                build(
                                        new TarBuilder()
                                                .entry("h")
                                                .type('1')
                                                .link("../outside")
                                                .add()
                                                .build()))
                .hasMessageContaining("'..' component in ../outside");
        assertThatThrownBy(
                        () ->
                                build(
                                        new TarBuilder()
                                                .entry("h")
                                                .type('1')
                                                .link("missing")
                                                .add()
                                                .build()))
                .hasMessageContaining("hardlink to missing, which is not in the image");
        assertThatThrownBy(
                        () ->
                                build(
                                        new TarBuilder()
                                                .dir("d/")
                                                .entry("h")
                                                .type('1')
                                                .link("d")
                                                .add()
                                                .build()))
                .hasMessageContaining("hardlink to the directory d");
        assertThatThrownBy(
                        () ->
                                build(
                                        new TarBuilder()
                                                .entry("lnk")
                                                .type('2')
                                                .link("/")
                                                .add()
                                                .entry("x")
                                                .type('1')
                                                .link("lnk/etc/shadow")
                                                .add()
                                                .build()))
                .hasMessageContaining("goes through the symlink /lnk");
        assertThatThrownBy(() -> build(new TarBuilder().entry("./").body("x").add().build()))
                .hasMessageContaining("names the root directory but is a REGULAR");
    }

    @Test
    void tooManyEntriesAreRefused() throws Exception {
        TarBuilder t = new TarBuilder();
        for (int i = 0; i < 11; i++) {
            t.entry("e" + i).add();
        }
        TreeBuilder b = new TreeBuilder(new MemorySink(), null, 10);
        assertThatThrownBy(() -> b.apply(new ByteArrayInputStream(t.build()), "layer x"))
                .hasMessage(
                        "layer x: the image has more than 10 tar entries; refused to protect memory");
        TreeBuilder ok = new TreeBuilder(new MemorySink(), null, 11);
        ok.apply(new ByteArrayInputStream(t.build()), "layer x");
        assertThat(ok.finish().children()).hasSize(11);
    }

    @Test
    void absoluteNamesStayInsideTheTree() throws Exception {
        Directory root =
                build(new TarBuilder().file("/etc/x", "1").file("///etc/./y", "2").build());
        assertThat(TreeText.render(root)).contains("/etc/x ").contains("/etc/y ");
        assertThat(((Directory) root).children()).hasSize(1);
    }

    @Test
    void sinkFailureFailsTheLayer() {
        BodySink failing =
                (body, size) -> {
                    throw new IOException("disk full");
                };
        assertThatThrownBy(
                        () ->
                                build(
                                        failing,
                                        null,
                                        new TarBuilder().file("f", new byte[1000]).build()))
                .hasMessage("disk full");
        try (BodyPipeline p = new BodyPipeline(2, 1 << 20)) {
            assertThatThrownBy(
                            () ->
                                    build(
                                            failing,
                                            p,
                                            new TarBuilder()
                                                    .file("f", new byte[1000])
                                                    .file("g", new byte[300_000])
                                                    .build()))
                    .hasMessage("disk full");
        }
    }

    @Test
    void truncatedLayerFailsEvenWithThePipeline() {
        byte[] tar = new TarBuilder().file("big", new byte[600_000]).build();
        byte[] cut = java.util.Arrays.copyOf(tar, 400_000);
        try (BodyPipeline p = new BodyPipeline(2, 1 << 20)) {
            TreeBuilder t = new TreeBuilder(new MemorySink(), p);
            assertThatThrownBy(() -> t.apply(new ByteArrayInputStream(cut), "layer sha256:cut"))
                    .hasMessageContaining(
                            "layer sha256:cut: truncated: entry big expects 600000 bytes");
            t.abort();
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void pipelineGivesTheSameTreeAsSerialAndIsDeterministic(long seed) throws Exception {
        System.out.println("seed " + seed);
        Random r = new Random(seed);
        TarBuilder t = new TarBuilder();
        for (int i = 0; i < 60; i++) {
            int size = r.nextInt(4) == 0 ? r.nextInt(1_500_000) : r.nextInt(300);
            byte[] body = new byte[size];
            r.nextBytes(body);
            String name = "d" + r.nextInt(5) + "/f" + i;
            t.entry(name)
                    .body(body)
                    .mode(0600 + r.nextInt(0100))
                    .pax("mtime", r.nextInt(1 << 30) + "." + r.nextInt(1_000_000_000))
                    .add();
            if (r.nextInt(6) == 0) {
                t.entry("links/l" + i).type('1').link("./" + name).add();
            }
        }
        byte[] layer = t.build();
        String serial = TreeText.render(build(layer));
        MemorySink sink = new MemorySink();
        try (BodyPipeline p = new BodyPipeline(2, 2 << 20)) {
            String parallel = TreeText.render(build(sink, p, layer));
            assertThat(parallel).isEqualTo(serial);
            assertThat(TreeText.render(build(new MemorySink(), p, layer))).isEqualTo(parallel);
        }
    }

    @Test
    void pipelineMatchesSerialOnManyFilesWithHardlinks() throws Exception {
        Random r = new Random(42);
        TarBuilder t = new TarBuilder();
        for (int i = 0; i < 200; i++) {
            byte[] body = new byte[r.nextInt(5) == 0 ? r.nextInt(2_000_000) : r.nextInt(5000)];
            r.nextBytes(body);
            t.entry("d" + (i % 7) + "/f" + i).body(body).add();
            if (i % 9 == 0) {
                t.entry("links/l" + i).type('1').link("d" + (i % 7) + "/f" + i).add();
            }
        }
        byte[] layer = t.build();
        String serial = TreeText.render(build(layer));
        MemorySink sink = new MemorySink();
        try (BodyPipeline p =
                new BodyPipeline(2, 1 << 20)) { // 4 chunks: forces the parser to wait on workers
            assertThat(TreeText.render(build(sink, p, layer))).isEqualTo(serial);
        }
        assertThat(serial).contains("/links/l9 => ").contains(" n2 ");
    }

    @Test
    void gzipZstdAndPlainLayersGiveTheSameTree() throws Exception {
        byte[] plain = new TarBuilder().file("a", new byte[5000]).file("b", "bee").build();
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream o = new GZIPOutputStream(gz)) {
            o.write(plain);
        }
        byte[] zst = Zstd.compress(plain);
        String expected = TreeText.render(build(plain));
        for (Object[] c :
                List.of(
                        new Object[] {
                            "application/vnd.oci.image.layer.v1.tar+gzip", gz.toByteArray()
                        },
                        new Object[] {
                            "application/vnd.docker.image.rootfs.diff.tar.gzip", gz.toByteArray()
                        },
                        new Object[] {"application/vnd.oci.image.layer.v1.tar+zstd", zst},
                        new Object[] {"application/vnd.oci.image.layer.v1.tar", plain})) {
            TreeBuilder t = new TreeBuilder(new MemorySink(), null);
            t.apply(
                    LayerCompression.ofMediaType((String) c[0])
                            .decompress(new ByteArrayInputStream((byte[]) c[1])),
                    "l");
            assertThat(TreeText.render(t.finish())).as((String) c[0]).isEqualTo(expected);
        }
        assertThatThrownBy(
                        () ->
                                LayerCompression.ofMediaType(
                                        "application/vnd.oci.image.layer.v1.tar+bzip2"))
                .hasMessageContaining(
                        "unknown layer media type 'application/vnd.oci.image.layer.v1.tar+bzip2'");
    }

    private static String hex(String s) {
        return java.util.HexFormat.of().formatHex(b(s));
    }
}
