package dev.kcfs.image.erofs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.kcfs.image.ConformanceAssets;
import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.dump.DumpPrinter;
import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Xattr;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ErofsReaderTest {
    static final String SMALL =
            "/ 4096 40755 2 0 0 0 0.0 - - -\n"
                    + "/d 4096 40755 2 0 0 0 1.0 - - - user.k=v security.selinux=x\n"
                    + "/d/f 6 100644 2 0 0 0 0.0 - hello\\n - user.k=v\n"
                    + "/d/g 0 @100644 2 0 0 0 0.0 /d/f - -\n"
                    + "/d/wh 0 20000 1 0 0 0 0.0 - - -\n"
                    + "/ext 70000 100644 1 7 8 0 0.0 ab/cd - - trusted.overlay.opaque=y\n"
                    + "/l 3 120777 1 0 0 0 0.0 abc - -\n";

    @TempDir Path tmp;

    static byte[] image(String dump) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ErofsWriter.write(
                DumpParser.parse(dump.getBytes(StandardCharsets.ISO_8859_1), true),
                WriteOptions.defaults(),
                out);
        return out.toByteArray();
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static Inode at(Directory root, String path) {
        Inode cur = root;
        for (String c : path.substring(1).split("/")) {
            cur = ((Directory) cur).child(b(c));
        }
        return cur;
    }

    @Test
    void undoesTheWriterRewrite() throws Exception {
        ErofsReader.Image img = ErofsReader.read(image(SMALL), "small", null);
        assertThat(img.version()).as("a whiteout bumps the default version").isEqualTo(1);
        Directory root = img.root();
        assertThat(root.children().keySet())
                .extracting(k -> new String(k, StandardCharsets.US_ASCII))
                .containsExactly("d", "ext", "l");
        assertThat(root.xattrs()).as("the root's opaque=y is dropped").isEmpty();
        assertThat(at(root, "/d/g")).as("same nid, same object").isSameAs(at(root, "/d/f"));
        assertThat(at(root, "/d/wh"))
                .isInstanceOfSatisfying(DeviceNode.class, d -> assertThat(d.isWhiteout()).isTrue());
        assertThat(at(root, "/d/wh").xattrs()).isEmpty();
        RegularFile ext = (RegularFile) at(root, "/ext");
        assertThat(ext.payload()).isEqualTo(b("ab/cd")).as("exact length, no upstream over-read");
        assertThat(ext.digest()).isNull();
        assertThat(ext.stat().uid()).isEqualTo(7);
        assertThat(ext.xattrs()).containsExactly(Xattr.of("trusted.overlay.opaque", "y"));
        // v1 markers stay visible on the whiteout's parent, like composefs-info shows them
        assertThat(at(root, "/d").xattrs())
                .extracting(Xattr::nameString)
                .contains(
                        "trusted.overlay.opaque",
                        "user.overlay.opaque",
                        "user.k",
                        "security.selinux")
                .doesNotContain("user.overlay.whiteouts", "trusted.overlay.whiteouts");
    }

    @Test
    void filterLoadsOnlySelectedTopLevelNames() throws Exception {
        ErofsReader.Image img = ErofsReader.read(image(SMALL), "small", Set.of(b("l"), b("nope")));
        assertThat(img.root().children().keySet())
                .extracting(k -> new String(k, StandardCharsets.US_ASCII))
                .containsExactly("l");
        assertThatThrownBy(() -> ErofsReader.read(image(SMALL), "small", Set.of(b("d/f"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("top-level names");
    }

    @Test
    void hardlinksOfAnUpstreamAssetAreOneObject() throws Exception {
        var a =
                ConformanceAssets.withChecksum().stream()
                        .filter(x -> x.name().startsWith("config-with-hard-link"))
                        .findFirst()
                        .orElseThrow();
        Path f = tmp.resolve("c.cfs");
        ErofsWriter.write(DumpParser.parse(a.dumpBytes(), true), a.options(), f);
        Directory root = ErofsReader.read(f, Set.of(b("usr"))).root();
        assertThat(at(root, "/usr/bin/ls-hardlink")).isSameAs(at(root, "/usr/bin/ls"));
        assertThat(root.size()).isEqualTo(1);
    }

    @Test
    void rejectsNonComposefsFiles() throws Exception {
        Random r = new Random(1);
        for (int len : new int[] {0, 3, 100, 5000, 70000}) {
            byte[] junk = new byte[len];
            r.nextBytes(junk);
            assertThatThrownBy(() -> ErofsReader.read(junk, "junk", null))
                    .isInstanceOf(ErofsException.class)
                    .hasMessageContaining("image junk: not a composefs image");
        }
        Path text = tmp.resolve("text");
        Files.writeString(text, "hello");
        assertThatThrownBy(() -> ErofsReader.read(text))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining(text.toString())
                .hasMessageContaining("not a composefs image");
    }

    @Test
    void everyTruncationIsAClearError() throws Exception {
        byte[] img = image(SMALL);
        for (int len = 0; len < img.length; len += 61) {
            byte[] cut = Arrays.copyOf(img, len);
            assertThatThrownBy(() -> ErofsReader.read(cut, "cut", null))
                    .as("truncated to %d", len)
                    .isInstanceOf(ErofsException.class)
                    .hasMessageStartingWith("image cut: ");
        }
    }

    @Test
    void corruptedSuperblockFieldsAreNamed() throws Exception {
        byte[] img = image(SMALL);
        assertCorrupt(img, 1024, 0x12345678, "no EROFS superblock magic");
        assertCorrupt(img, 4, 2, "unsupported composefs header version 2");
        assertCorrupt(img, 12, 9, "unsupported composefs format version 9");
        corrupt(img, buf -> buf.put(1024 + 12, (byte) 13), "unsupported EROFS block size");
        corrupt(
                img,
                buf -> buf.putShort(1024 + 14, (short) 0xfff0),
                "points outside the inode area");
        corrupt(
                img,
                buf -> buf.putShort(1024 + 14, (short) 37),
                ""); // middle of the root inode: any clear error
    }

    @Test
    void hugeSizesInInodesAreErrors() throws Exception {
        // /f has an extended inode because its mtime differs from the minimum
        byte[] img = image("/ 4096 40755 2 0 0 0 0.0 - - -\n/f 3 100644 1 0 0 0 5.0 - abc -\n");
        ByteBuffer buf = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        int patched = 0;
        for (int off = 1152; off + 64 <= 12288; off += 32) {
            if ((buf.getShort(off + 4) & 0xffff) == 0100644 && (buf.getShort(off) & 1) == 1) {
                buf.putLong(off + 8, -5L); // i_size of the extended inode: 2^64 - 5
                patched++;
            }
        }
        assertThat(patched).isEqualTo(1);
        assertThatThrownBy(() -> ErofsReader.read(img, "huge", null))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("more than the whole image");
    }

    @Test
    void directoryLoopIsDetected() throws Exception {
        byte[] img = image("/ 4096 40755 2 0 0 0 0.0 - - -\n/a 4096 40755 2 0 0 0 0.0 - - -\n");
        ErofsReader.Image ok = ErofsReader.read(img, "loop", null);
        assertThat(ok.root().size()).isEqualTo(1);
        // find /a's inline dirents ('.', '..') and point '.' ... then make the root's "a" entry
        // point to the root
        ByteBuffer buf = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        int rootNid = buf.getShort(1024 + 14);
        int rootBlock = buf.getInt(rootNid * 32 + 16);
        int base = rootBlock * 4096;
        int count = (buf.getShort(base + 8) & 0xffff) / 12;
        for (int i = 0; i < count; i++) {
            int nameoff = buf.getShort(base + i * 12 + 8) & 0xffff;
            if (img[base + nameoff] == 'a'
                    && (i + 1 == count
                            || (buf.getShort(base + i * 12 + 20) & 0xffff) == nameoff + 1)) {
                // "a" is a directory whose ".." goes back to the root; make "a" itself the root
                buf.putLong(base + i * 12, rootNid);
            }
        }
        assertThatThrownBy(() -> ErofsReader.read(img, "loop", null))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining("reachable twice");
    }

    @Test
    void randomCorruptionNeverCrashesOrHangs() throws Exception {
        byte[] good = image(SMALL);
        Random r = new Random(7);
        for (int i = 0; i < 3000; i++) {
            byte[] img = good.clone();
            int flips = 1 + r.nextInt(8);
            for (int k = 0; k < flips; k++) {
                // bias towards the metadata area, where damage matters
                int pos =
                        r.nextInt(4) == 0
                                ? r.nextInt(img.length)
                                : 1024 + r.nextInt(Math.min(img.length, 12288) - 1024);
                img[pos] = (byte) r.nextInt(256);
            }
            try {
                ErofsReader.Image im = ErofsReader.read(img, "fuzz", null);
                DumpPrinter.print(im.root(), java.io.OutputStream.nullOutputStream());
            } catch (ErofsException expected) {
                assertThat(expected.getMessage()).startsWith("image fuzz: ");
            } catch (RuntimeException e) {
                fail("iteration " + i + ": raw " + e, e);
            }
        }
    }

    @Test
    void randomCorruptionOfAssetImagesNeverCrashes() throws Exception {
        Random r = new Random(11);
        for (var a : ConformanceAssets.withChecksum()) {
            if (a.name().startsWith("f36")
                    || a.name().startsWith("cs9")
                    || a.name().startsWith("config")) {
                continue;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ErofsWriter.write(DumpParser.parse(a.dumpBytes(), a.strict()), a.options(), out);
            byte[] good = out.toByteArray();
            for (int i = 0; i < 300; i++) {
                byte[] img = good.clone();
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    img[1024 + r.nextInt(img.length - 1024)] = (byte) r.nextInt(256);
                }
                try {
                    DumpPrinter.print(
                            ErofsReader.read(img, a.name(), null).root(),
                            java.io.OutputStream.nullOutputStream());
                } catch (ErofsException expected) {
                    assertThat(expected.getMessage()).startsWith("image " + a.name() + ": ");
                } catch (RuntimeException e) {
                    fail(a.name() + " iteration " + i + ": raw " + e, e);
                }
            }
        }
    }

    private static void assertCorrupt(byte[] img, int off, int value, String message)
            throws Exception {
        corrupt(img, buf -> buf.putInt(off, value), message);
    }

    private static void corrupt(
            byte[] img, java.util.function.Consumer<ByteBuffer> edit, String message) {
        byte[] copy = img.clone();
        edit.accept(ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN));
        assertThatThrownBy(() -> ErofsReader.read(copy, "bad", null))
                .isInstanceOf(ErofsException.class)
                .hasMessageContaining(message);
    }
}
