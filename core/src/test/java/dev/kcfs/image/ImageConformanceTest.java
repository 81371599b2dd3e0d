package dev.kcfs.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.image.dump.DumpFormatException;
import dev.kcfs.image.dump.DumpParser;
import dev.kcfs.image.dump.DumpPrinter;
import dev.kcfs.image.erofs.ErofsException;
import dev.kcfs.image.erofs.ErofsReader;
import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.tree.Directory;
import dev.kcfs.tree.RegularFile;
import dev.kcfs.tree.TreeWalker;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Byte identity with upstream mkcomposefs 1.0.8 on its own conformance assets. */
class ImageConformanceTest {
    @TempDir Path tmp;

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
    @MethodSource("assets")
    void writtenImagePassesFsckErofs(ConformanceAssets a) throws Exception {
        Path fsck = Fsck.binary();
        Path f = tmp.resolve("a.cfs");
        Directory root = DumpParser.parse(a.dumpBytes(), a.strict());
        ErofsWriter.write(root, a.options(), f);
        Fsck.assertClean(fsck, f, false);
        // Files over 8 TiB get upstream's chunk-map quirk (docs/format.md, 'Inodes'): the map is
        // moved to a data
        // block that the kernel never reads, so extracting them fails for upstream's images as
        // well.
        boolean huge =
                TreeWalker.entries(root).stream()
                        .anyMatch(
                                e ->
                                        e.inode() instanceof RegularFile rf
                                                && rf.isExternal()
                                                && Long.compareUnsigned(rf.size(), 1L << 43) > 0);
        if (!huge) {
            Fsck.assertClean(fsck, f, true);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"f36-x86_64-silverblue.dump.gz", "cs9-x86_64-developer.dump.gz"})
    void canonicalDumpsSurviveImageAndBack(String asset) throws Exception {
        ConformanceAssets a =
                ConformanceAssets.withChecksum().stream()
                        .filter(x -> x.name().equals(asset))
                        .findFirst()
                        .orElseThrow();
        byte[] dump = a.dumpBytes();
        Path f = tmp.resolve("a.cfs");
        ErofsWriter.write(DumpParser.parse(dump, true), a.options(), f);
        ByteArrayOutputStream text = new ByteArrayOutputStream(dump.length);
        DumpPrinter.print(ErofsReader.read(f).root(), text);
        byte[] printed = text.toByteArray();
        // compare as text first for a readable diff of the first differing line, then bytewise
        if (!Arrays.equals(printed, dump)) {
            int i = Arrays.mismatch(printed, dump);
            int ls = i;
            while (ls > 0 && dump[ls - 1] != '\n') {
                ls--;
            }
            assertThat(
                            new String(
                                    printed,
                                    ls,
                                    Math.min(300, printed.length - ls),
                                    StandardCharsets.ISO_8859_1))
                    .isEqualTo(
                            new String(
                                    dump,
                                    ls,
                                    Math.min(300, dump.length - ls),
                                    StandardCharsets.ISO_8859_1));
        }
        assertThat(printed).isEqualTo(dump);
    }

    static List<ConformanceAssets> lenientAssets() throws Exception {
        return ConformanceAssets.withChecksum().stream().filter(a -> !a.strict()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lenientAssets")
    void lenientAssetsReallyNeedLenientParsing(ConformanceAssets a) throws Exception {
        assertThatThrownBy(() -> DumpParser.parse(a.dumpBytes(), true))
                .isInstanceOf(DumpFormatException.class);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failing")
    void shouldFailInputsAreRejected(Path p) throws Exception {
        Path out = tmp.resolve("out.cfs");
        assertThatThrownBy(
                        () -> {
                            Directory root = DumpParser.parse(ConformanceAssets.read(p), true);
                            ErofsWriter.write(root, WriteOptions.defaults(), out);
                        })
                .isInstanceOfAny(DumpFormatException.class, ErofsException.class);
        assertThat(out).doesNotExist();
        try (var s = Files.list(tmp)) {
            assertThat(s.toList()).as("no temporary files left").isEmpty();
        }
    }
}
