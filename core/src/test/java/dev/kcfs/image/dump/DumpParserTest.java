package dev.kcfs.image.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.tree.DeviceNode;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.Inode;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.Symlink;
import dev.kcfs.tree.Xattr;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DumpParserTest {
    static final String ROOT = "/ 4096 40755 2 0 0 0 0.0 - - -\n";

    static Directory parse(String dump) throws DumpFormatException {
        return DumpParser.parse(dump.getBytes(StandardCharsets.ISO_8859_1), true);
    }

    static Directory lenient(String dump) throws DumpFormatException {
        return DumpParser.parse(dump.getBytes(StandardCharsets.ISO_8859_1), false);
    }

    static Inode at(Directory root, String path) {
        Inode cur = root;
        for (String c : path.substring(1).split("/")) {
            cur = ((Directory) cur).child(c.getBytes(StandardCharsets.ISO_8859_1));
        }
        return cur;
    }

    static String print(Directory root) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DumpPrinter.print(root, out);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void parsesEveryFileType() throws Exception {
        Directory root =
                parse(
                        ROOT
                                + "/d 4096 40700 2 1 2 0 5.7 - - - user.a=b\n"
                                + "/d/f 6 100644 3 0 0 0 1.1 - hello\\n -\n"
                                + "/d/ext 100000 100600 1 0 0 0 0.0 ab/cd - 0000000000000000000000000000000000000000000000000000000000000001\n"
                                + "/l 3 120777 1 0 0 0 0.0 a\\x2fb - -\n"
                                + "/b 0 60600 1 0 0 2049 0.0 - - -\n"
                                + "/c 0 20600 1 0 0 0 0.0 - - -\n"
                                + "/p 0 10600 1 0 0 0 0.0 - - -\n"
                                + "/s 0 140600 1 0 0 0 0.0 - - -\n");
        Directory d = (Directory) at(root, "/d");
        assertThat(d.stat().uid()).isEqualTo(1);
        assertThat(d.stat().mtimeSec()).isEqualTo(5);
        assertThat(d.stat().mtimeNsec()).isEqualTo(7);
        assertThat(d.xattrs()).containsExactly(Xattr.of("user.a", "b"));
        RegularFile f = (RegularFile) at(root, "/d/f");
        assertThat(f.content()).isEqualTo("hello\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(f.stat().nlink()).isEqualTo(3);
        assertThat(f.stat().mtimeNsec()).as("1.1 is 1 s + 1 ns, not a fraction").isEqualTo(1);
        RegularFile ext = (RegularFile) at(root, "/d/ext");
        assertThat(ext.isExternal()).isTrue();
        assertThat(new String(ext.payload(), StandardCharsets.US_ASCII)).isEqualTo("ab/cd");
        assertThat(ext.digest().bytes()[31]).isEqualTo((byte) 1);
        assertThat(((Symlink) at(root, "/l")).target())
                .isEqualTo("a/b".getBytes(StandardCharsets.US_ASCII));
        assertThat(((DeviceNode) at(root, "/b")).rdev()).isEqualTo(2049);
        assertThat(((DeviceNode) at(root, "/c")).isWhiteout()).isTrue();
        assertThat(at(root, "/p").type()).hasToString("FIFO");
        assertThat(at(root, "/s").type()).hasToString("SOCKET");
    }

    @Test
    void hardlinksResolveForwardAndBackwardToTheSameObject() throws Exception {
        Directory root =
                parse(
                        ROOT
                                + "/a 0 @100644 1 0 0 0 0.0 /z/target - -\n"
                                + "/b 0 @100644 1 0 0 0 0.0 /a - -\n"
                                + "/z 4096 40755 2 0 0 0 0.0 - - -\n"
                                + "/z/target 5 100644 2 0 0 0 0.0 - abcde - user.x=1\n"
                                + "/zz 0 @100644 1 0 0 0 0.0 //z//target - -\n");
        Inode t = at(root, "/z/target");
        assertThat(at(root, "/a")).isSameAs(t);
        assertThat(at(root, "/b")).as("link to a link").isSameAs(t);
        assertThat(at(root, "/zz")).isSameAs(t);
        assertThat(t.stat().nlink()).as("nlink is kept verbatim").isEqualTo(2);
        // printed like composefs-info: first occurrence in DFS order is the target
        assertThat(print(root))
                .contains("/a 5 100644 2 0 0 0 0.0 - abcde - user.x=1\n")
                .contains("/b 5 @100644 2 0 0 0 0.0 /a abcde - user.x=1\n");
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/x 0 170000 1 0 0 0 0.0 - - -\\n | line 2: Invalid mode 0170000",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/x 0 100644 1 0 0 0 0.0 - - -\\n/x 0 100644 1 0 0 0 0.0 - - -\\n | line 3: Duplicate entry",
                "/x 0 100644 1 0 0 0 0.0 - - -\\n | line 1: Root node not present",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/ 4096 40755 2 0 0 0 0.0 - - -\\n | line 2: Duplicate root",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a/b 0 100644 1 0 0 0 0.0 - - -\\n | line 2: Parent directory '/a' not present",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 0.0 - - -\\n/a/b 0 100644 1 0 0 0 0.0 - - -\\n | line 3: Parent '/a' is not a directory",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 @100644 1 0 0 0 0.0 /a - -\\n | line 2: Self-referential hardlink",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 @100644 1 0 0 0 0.0 /b - -\\n/b 0 @100644 1 0 0 0 0.0 /a - -\\n | line 2: Hardlink loop",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 @100644 1 0 0 0 0.0 /nope - -\\n | line 2: Hardlink target '/nope' not found",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/d 0 40755 1 0 0 0 0.0 - - -\\n/a 0 @40755 1 0 0 0 0.0 /d - -\\n | line 3: Directories can't be hardlinked",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 0.0 - - - user.x\\n | line 2: Missing = in xattr",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 0.0 - - - \\n | line 2: Missing = in xattr",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a\\q 0 100644 1 0 0 0 0.0 - - -\\n | line 2: Unsupported escape type",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a\\x4 0 100644 1 0 0 0 0.0 - - -\\n | line 2: Unsupported escape type",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a x 100644 1 0 0 0 0.0 - - -\\n | line 2: Invalid integer for size",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644\\n | line 2: Invalid integer for nlink: missing",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 7 - - -\\n | line 2: Invalid mtime",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 0.0 - - abc\\n | line 2: Invalid digest",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 2 100644 1 0 0 0 0.0 - abc -\\n | line 2: Inline content size 3 does not match SIZE 2",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 99999999999999999999 100644 1 0 0 0 0.0 - - -\\n | is out of range",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 5 0.0 - - -\\n | line 2: Non-zero rdev 5",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/l 9 120777 1 0 0 0 0.0 abc - -\\n | line 2: Symlink SIZE 9 does not match target length 3",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/l 3 120777 1 0 0 0 0.0 abc xyz -\\n | line 2: Symlink with CONTENT",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 0.0 - - -\\n\\n | line 3: Empty path",
                "/ 4096 40755 2 0 0 0 0.0 - - -\\n/a 0 100644 1 0 0 0 0.0 - - - | line 2: Missing trailing newline",
            })
    void rejectsWithLineAndReason(String input, String message) {
        String dump = input.replace("\\n", "\n").stripLeading();
        assertThatThrownBy(() -> parse(dump))
                .isInstanceOf(DumpFormatException.class)
                .hasMessageContaining(message.strip());
    }

    @Test
    void lenientModeAcceptsWhatUpstreamAcceptsWithoutStrict() throws Exception {
        String dump =
                ROOT
                        + "/a 0 100644 1 0 0 5 0.0 - - -\n/l 9 120777 1 0 0 0 0.0 abc xyz -\n/b 0 100644 1 0 0 0 0.0 - - -";
        Directory root = lenient(dump);
        assertThat(((Symlink) at(root, "/l")).target()).hasSize(3);
        assertThat(at(root, "/b")).isInstanceOf(RegularFile.class);
        assertThatThrownBy(() -> parse(dump)).isInstanceOf(DumpFormatException.class);
    }

    @Test
    void endlessLineIsRejectedWithoutEatingMemory() {
        java.io.InputStream endless =
                new java.io.InputStream() {
                    long n;

                    @Override
                    public int read() {
                        return n++ < 1L << 40 ? 'a' : -1;
                    }

                    @Override
                    public int read(byte[] b, int off, int len) {
                        java.util.Arrays.fill(b, off, off + len, (byte) 'a');
                        n += len;
                        return len;
                    }
                };
        assertThatThrownBy(() -> DumpParser.parse(endless, true))
                .isInstanceOf(DumpFormatException.class)
                .hasMessageContaining("line 1: Line longer than");
    }

    @Test
    void emptyInputHasNoRoot() {
        assertThatThrownBy(() -> parse(""))
                .isInstanceOf(DumpFormatException.class)
                .hasMessageContaining("Root node not present");
    }

    @Test
    void nulByteIsRejected() {
        assertThatThrownBy(() -> parse(ROOT + "/a\0b 0 100644 1 0 0 0 0.0 - - -\n"))
                .isInstanceOf(DumpFormatException.class)
                .hasMessageContaining("line 2: Embedded NUL");
    }

    @Test
    void limits() throws Exception {
        String n255 = "n".repeat(255);
        parse(ROOT + "/" + n255 + " 0 100644 1 0 0 0 0.0 - - -\n");
        assertThatThrownBy(() -> parse(ROOT + "/" + n255 + "n 0 100644 1 0 0 0 0.0 - - -\n"))
                .hasMessageContaining("File name too long (256 bytes");
        String c5000 = "c".repeat(5000);
        parse(ROOT + "/f 5000 100644 1 0 0 0 0.0 - " + c5000 + " -\n");
        assertThatThrownBy(() -> parse(ROOT + "/f 5001 100644 1 0 0 0 0.0 - " + c5000 + "c -\n"))
                .hasMessageContaining("Inline content size 5001 exceeds maximum 5000");
        String t4095 = "t".repeat(4095);
        parse(ROOT + "/l 4095 120777 1 0 0 0 0.0 " + t4095 + " - -\n");
        assertThatThrownBy(() -> parse(ROOT + "/l 4096 120777 1 0 0 0 0.0 " + t4095 + "t - -\n"))
                .hasMessageContaining("Symlink target too long (4096 bytes");
        String k255 = "k".repeat(255);
        parse(ROOT + "/f 0 100644 1 0 0 0 0.0 - - - " + k255 + "=v\n");
        assertThatThrownBy(() -> parse(ROOT + "/f 0 100644 1 0 0 0 0.0 - - - " + k255 + "k=v\n"))
                .hasMessageContaining("Xattr name too long (256 bytes");
        // budget: 12 + sum(7 + key + value) <= 32767
        String v = "v".repeat(32767 - 12 - 7 - 1);
        parse(ROOT + "/f 0 100644 1 0 0 0 0.0 - - - k=" + v + "\n");
        assertThatThrownBy(() -> parse(ROOT + "/f 0 100644 1 0 0 0 0.0 - - - k=" + v + "v\n"))
                .hasMessageContaining("Can't set xattr k");
    }

    @Test
    void laterDuplicateXattrReplacesTheEarlierOneInPlace() throws Exception {
        Directory root =
                parse(
                        ROOT
                                + "/f 0 100644 1 0 0 0 0.0 - - - user.a=1 user.b=2 user.a=3 x\\x3dy=a=b\n");
        assertThat(at(root, "/f").xattrs())
                .containsExactly(
                        Xattr.of("user.a", "3"), Xattr.of("user.b", "2"), Xattr.of("x=y", "a=b"));
    }

    @Test
    void emptyContentMeansNoContentAndDashIsUnset() throws Exception {
        Directory root =
                parse(
                        ROOT
                                + "/f 0 100644 1 0 0 0 0.0 \\x2d  -\n/g 1 100644 1 0 0 0 0.0 - \\x2d -\n");
        RegularFile f = (RegularFile) at(root, "/f");
        assertThat(f.content()).isNull();
        assertThat(((RegularFile) at(root, "/g")).content()).containsExactly('-');
    }

    @Test
    void cursorFallsBackWhenTheInputIsNotDepthFirst() throws Exception {
        Directory root =
                parse(
                        ROOT
                                + "/a 4096 40755 2 0 0 0 0.0 - - -\n"
                                + "/b 4096 40755 2 0 0 0 0.0 - - -\n"
                                + "/a/x 4096 40755 2 0 0 0 0.0 - - -\n"
                                + "/b/y 0 100644 1 0 0 0 0.0 - - -\n"
                                + "/a/x/z 0 100644 1 0 0 0 0.0 - - -\n"
                                + "/a/w 0 100644 1 0 0 0 0.0 - - -\n");
        assertThat(at(root, "/a/x/z")).isInstanceOf(RegularFile.class);
        assertThat(at(root, "/b/y")).isInstanceOf(RegularFile.class);
        assertThat(at(root, "/a/w")).isInstanceOf(RegularFile.class);
        assertThat(print(root).lines().map(l -> l.split(" ")[0]))
                .containsExactly("/", "/a", "/a/w", "/a/x", "/a/x/z", "/b", "/b/y");
    }

    @Test
    void readsInputLargerThanTheReadBuffer() throws Exception {
        StringBuilder sb = new StringBuilder(ROOT);
        for (int i = 0; i < 40000; i++) {
            sb.append("/f")
                    .append(i)
                    .append(" 0 100644 1 0 0 0 0.0 - - - user.long=")
                    .append("x".repeat(40))
                    .append('\n');
        }
        assertThat(parse(sb.toString()).size()).isEqualTo(40000);
    }

    /** A uid of 4294967296 used to be cut to 0 (root) when the image was written. */
    @Test
    void fieldsWiderThanTheImageKeepsAreRejectedWithTheirLine() throws Exception {
        String[][] cases = {
            {
                "/f 0 100644 1 4294967296 0 0 0.0 - - -",
                "line 2: Invalid uid 4294967296: out of range 0..4294967295"
            },
            {"/f 0 100644 1 0 4294967297 0 0.0 - - -", "line 2: Invalid gid 4294967297"},
            {"/f 0 100644 4294967296 0 0 0 0.0 - - -", "line 2: Invalid nlink 4294967296"},
            {"/c 0 20644 1 0 0 4294967296 0.0 - - -", "line 2: Invalid rdev 4294967296"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> lenient(ROOT + c[0] + "\n"))
                    .as(c[0])
                    .isInstanceOf(DumpFormatException.class)
                    .hasMessageContaining(c[1]);
        }
        Directory max = parse(ROOT + "/f 0 100644 1 4294967295 4294967295 0 0.0 - - -\n");
        assertThat(at(max, "/f").stat().uid()).isEqualTo(4294967295L);
    }
}
