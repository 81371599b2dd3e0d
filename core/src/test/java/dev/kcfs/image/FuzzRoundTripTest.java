package dev.kcfs.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.kcfs.image.dump.DumpFormatException;
import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.dump.DumpPrinter;
import dev.kcfs.image.erofs.ErofsException;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.tree.Directory;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Mutated dumps: the parser either accepts them or throws DumpFormatException; whatever it
 * accepts the writer either writes or rejects with ErofsException; whatever is written reads back,
 * prints, re-parses and re-writes to the identical image.
 */
class FuzzRoundTripTest {
    static final String SEED =
            "/ 4096 40755 3 0 0 0 100.5 - - - user.r=1\n"
                    + "/a\\x20b 4096 40700 2 1 2 0 7.0 - - - security.selinux=lbl trusted.overlay.opaque=y\n"
                    + "/a\\x20b/f 5 100644 2 0 0 0 7.0 - ab=\\n\\x00 - user.k=v\n"
                    + "/a\\x20b/g 5 @100644 2 0 0 0 7.0 /a\\x20b/f - -\n"
                    + "/a\\x20b/wh 0 20644 1 0 0 0 8.0 - - -\n"
                    + "/e 70000 100644 1 0 0 0 9.9 ab/cdef - 0101010101010101010101010101010101010101010101010101010101010101\n"
                    + "/l 2 120777 1 0 0 0 1.0 \\x2d\\x2d - -\n"
                    + "/dev 0 60600 1 0 0 2049 1.0 - - -\n"
                    + "/p 0 10600 1 70000 0 0 1.0 - - - user.big="
                    + "x".repeat(300)
                    + "\n";

    private static final byte[] ALPHABET =
            " /\\@-=.0123456789abcdefx\n".getBytes(StandardCharsets.ISO_8859_1);

    @Test
    void mutatedDumpsNeverCrashAndAcceptedOnesRoundTrip() throws Exception {
        Random r = new Random(20261126);
        byte[] seed = SEED.getBytes(StandardCharsets.ISO_8859_1);
        int accepted = 0;
        for (int i = 0; i < 1500; i++) {
            byte[] d = seed.clone();
            int edits = 1 + r.nextInt(3);
            for (int k = 0; k < edits; k++) {
                int pos = r.nextInt(d.length);
                d[pos] =
                        r.nextInt(4) == 0
                                ? (byte) r.nextInt(256)
                                : ALPHABET[r.nextInt(ALPHABET.length)];
            }
            Directory root;
            try {
                root = DumpParser.parse(d, r.nextBoolean());
            } catch (DumpFormatException e) {
                assertThat(e.getMessage()).isNotBlank();
                continue;
            } catch (RuntimeException e) {
                fail(
                        "parser crashed on input "
                                + i
                                + ":\n"
                                + new String(d, StandardCharsets.ISO_8859_1),
                        e);
                return;
            }
            byte[] img;
            try {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ErofsWriter.write(root, WriteOptions.defaults(), out);
                img = out.toByteArray();
            } catch (ErofsException e) {
                continue;
            } catch (RuntimeException e) {
                fail(
                        "writer crashed on input "
                                + i
                                + ":\n"
                                + new String(d, StandardCharsets.ISO_8859_1),
                        e);
                return;
            }
            accepted++;
            ErofsReader.Image back = ErofsReader.read(img, "fuzz", null);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            DumpPrinter.print(back.root(), text);
            Directory again = DumpParser.parse(text.toByteArray(), true);
            ByteArrayOutputStream out2 = new ByteArrayOutputStream();
            ErofsWriter.write(again, WriteOptions.pinned(back.version()), out2);
            assertThat(out2.toByteArray())
                    .as(
                            "round trip of input %d:\n%s",
                            i, new String(d, StandardCharsets.ISO_8859_1))
                    .isEqualTo(img);
        }
        assertThat(accepted)
                .as("the mutations must leave enough valid inputs to be meaningful")
                .isGreaterThan(120);
    }
}
