package dev.kcfs.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.image.dump.DumpFormatException;
import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.erofs.ErofsException;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.tree.Directory;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Byte identity with upstream mkcomposefs 1.0.8 on its own conformance assets. */
class ImageConformanceTest {
    @TempDir
    Path tmp;

    static List<ConformanceAssets> assets() throws Exception {
        return ConformanceAssets.withChecksum();
    }

    static List<Path> failing() throws Exception {
        return ConformanceAssets.shouldFail();
    }

    static byte[] image(Directory root, WriteOptions o) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ErofsWriter.WriteResult r = ErofsWriter.write(root, o, out);
        assertThat(r.size()).isEqualTo(out.size());
        return out.toByteArray();
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("assets")
    void imageHasUpstreamChecksum(ConformanceAssets a) throws Exception {
        Directory root = DumpParser.parse(a.dumpBytes(), a.strict());
        byte[] img = image(root, a.options());
        assertThat(sha256(img)).as(a.name()).isEqualTo(a.sha256());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("assets")
    void imageReadBackAndRewrittenIsIdentical(ConformanceAssets a) throws Exception {
        byte[] img = image(DumpParser.parse(a.dumpBytes(), a.strict()), a.options());
        Path f = tmp.resolve("a.cfs");
        Files.write(f, img);
        ErofsReader.Image read = ErofsReader.read(f);
        byte[] again = image(read.root(), WriteOptions.pinned(read.version()));
        assertThat(sha256(again)).as(a.name()).isEqualTo(a.sha256());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failing")
    void shouldFailInputsAreRejected(Path p) throws Exception {
        Path out = tmp.resolve("out.cfs");
        assertThatThrownBy(() -> {
            Directory root = DumpParser.parse(ConformanceAssets.read(p), true);
            ErofsWriter.write(root, WriteOptions.defaults(), out);
        }).isInstanceOfAny(DumpFormatException.class, ErofsException.class);
        assertThat(out).doesNotExist();
        try (var s = Files.list(tmp)) {
            assertThat(s.toList()).as("no temporary files left").isEmpty();
        }
    }
}
