package dev.kcfs.image.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.image.dump.DumpEscaping.Context;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DumpEscapingTest {
    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String s(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    @ParameterizedTest
    @EnumSource(value = Context.class, names = "LS_PATH", mode = EnumSource.Mode.EXCLUDE)
    void randomBytesRoundTrip(Context c) {
        Random r = new Random(42 + c.ordinal());
        for (int i = 0; i < 5000; i++) {
            byte[] v = new byte[r.nextInt(40)];
            r.nextBytes(v);
            byte[] enc = DumpEscaping.encode(v, c);
            for (byte x : enc) {
                assertThat(x)
                        .as("encoded output is printable ASCII")
                        .isBetween((byte) 0x21, (byte) 0x7e);
                if (c == Context.XATTR) {
                    assertThat(x).isNotEqualTo((byte) '=');
                }
            }
            assertThat(DumpEscaping.decode(enc)).isEqualTo(v);
        }
    }

    @Test
    void encodingIsComposefsInfosCanonicalForm() {
        assertThat(s(DumpEscaping.encode(b("a b\\c\n\r\t=\u00ff\u007f~"), Context.PATH)))
                .isEqualTo("a\\x20b\\\\c\\n\\r\\t=\\xff\\x7f~");
        assertThat(s(DumpEscaping.encode(b("k=v"), Context.XATTR))).isEqualTo("k\\x3dv");
        assertThat(s(DumpEscaping.encode(b("-"), Context.PAYLOAD))).isEqualTo("\\x2d");
        assertThat(s(DumpEscaping.encode(b("-"), Context.CONTENT))).isEqualTo("\\x2d");
        assertThat(s(DumpEscaping.encode(b("-"), Context.XATTR))).isEqualTo("-");
        assertThat(s(DumpEscaping.encode(b("--"), Context.PAYLOAD))).isEqualTo("--");
        assertThat(s(DumpEscaping.encode(b("/a b\n"), Context.LS_PATH))).isEqualTo("/a b\\n");
    }

    @Test
    void decodingAcceptsEitherHexCaseAndRejectsOtherEscapes() {
        assertThat(DumpEscaping.decode(b("\\xAb\\xcD"))).containsExactly(0xab, 0xcd);
        assertThatThrownBy(() -> DumpEscaping.decode(b("\\a")))
                .hasMessageContaining("Unsupported escape type");
        assertThatThrownBy(() -> DumpEscaping.decode(b("abc\\")))
                .hasMessageContaining("Unsupported escape type");
        assertThatThrownBy(() -> DumpEscaping.decode(b("\\x1")))
                .hasMessageContaining("Unsupported escape type");
        assertThatThrownBy(() -> DumpEscaping.decode(b("\\xg1")))
                .hasMessageContaining("Unsupported escape type");
    }
}
