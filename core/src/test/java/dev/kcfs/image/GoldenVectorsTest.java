package dev.kcfs.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.verity.FsVerity;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Upstream's golden min and small images: their sha256 and their own fs-verity digest. */
class GoldenVectorsTest {
    static final String MIN = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
    static final String SMALL =
            MIN
                    + "/hello.txt 6 100644 1 0 0 0 0.0 - hello\\n -\n"
                    + "/blob 100000 100644 1 0 0 0 0.0 d9/074999bf1282c457e905a1cdb3e31e8f47e292e19857fe5069ead8ea5d4102 - "
                    + "d9074999bf1282c457e905a1cdb3e31e8f47e292e19857fe5069ead8ea5d4102\n";

    static byte[] build(String dump) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ErofsWriter.WriteResult r =
                ErofsWriter.write(
                        DumpParser.parse(dump.getBytes(StandardCharsets.UTF_8), true),
                        WriteOptions.defaults(),
                        out);
        assertThat(r.version()).isZero();
        assertThat(r.inodes()).isEqualTo(dump.equals(MIN) ? 257 : 259);
        return out.toByteArray();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "min, c3dc5b0fc4afb0693a95e017fe5815e1f88f204d485df617541b5ea659aefb8b, "
                + "8f589e8f57ecb88823736b0d857ddca1e1068a23e264fad164b28f7038eb3682",
        "small, d1e120dc6de7b2ca734bf78243d0010791533596513937b81c87d8af5242f329, "
                + "ce74e40823fb871761f5365c035453259a9797893ec877c08a4350ba65c8db45",
    })
    void imageMatchesVector(String which, String sha256, String verity) throws Exception {
        byte[] img = build(which.equals("min") ? MIN : SMALL);
        assertThat(img).hasSize(16384);
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(img)))
                .isEqualTo(sha256);
        assertThat(FsVerity.digest(img).hex()).isEqualTo(verity);
    }

    @Test
    void minImageFieldsAsAnnotated() throws Exception {
        ByteBuffer b = ByteBuffer.wrap(build(MIN)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(0)).isEqualTo(0xd078629a);
        assertThat(b.getInt(1024)).isEqualTo(0xE0F5E1E2);
        assertThat(b.getShort(1024 + 14)).isEqualTo((short) 36); // root nid
        assertThat(b.getLong(1024 + 16)).isEqualTo(257); // inos
        assertThat(b.getInt(1024 + 36)).isEqualTo(4); // blocks
        assertThat(b.getInt(1024 + 44)).isEqualTo(2); // xattr_blkaddr = 9408 / 4096
        assertThat(b.getInt(0x4a0))
                .isEqualTo(0xffefffff); // root xattr name filter (bytes ff ff ef ff)
        assertThat(b.getShort(0x4c0 + 4)).isEqualTo((short) 020644); // first stub mode
        assertThat(b.getInt(0x4c0 + 20)).isEqualTo(1); // its ino
    }
}
