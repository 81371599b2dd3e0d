package dev.kcfs.image;

import dev.kcfs.image.erofs.ErofsWriter.WriteOptions;
import dev.kcfs.testing.SharedAssets;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/** The upstream conformance assets (shared/composefs/assets), as described in their README. */
public record ConformanceAssets(Path dump, String sha256, WriteOptions options, boolean strict) {
    /** Assets that upstream's own test suite parses without CFS_PARSE_STRICT. */
    public static final Set<String> LENIENT =
            Set.of("no-newline.dump", "longlink.dump", "honggfuzz-longlink-unterminated.dump");

    public String name() {
        return dump.getFileName().toString();
    }

    @Override
    public String toString() {
        return name();
    }

    /** The decompressed dump bytes. */
    public byte[] dumpBytes() {
        return read(dump);
    }

    public static byte[] read(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            return p.toString().endsWith(".gz")
                    ? new GZIPInputStream(in, 1 << 16).readAllBytes()
                    : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every asset with a checksum (skips the calling test when the assets are absent). */
    public static List<ConformanceAssets> withChecksum() throws IOException {
        Path dir = SharedAssets.composefsAssets();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".sha256"))
                    .sorted()
                    .map(
                            sum -> {
                                String n = sum.getFileName().toString();
                                Path dump =
                                        dir.resolve(
                                                n.substring(0, n.length() - ".sha256".length()));
                                try {
                                    String hex =
                                            Files.readString(sum, StandardCharsets.US_ASCII)
                                                    .trim()
                                                    .split("\\s+")[0];
                                    Path vf = dir.resolve(dump.getFileName() + ".version");
                                    WriteOptions o = WriteOptions.defaults();
                                    if (Files.exists(vf)) {
                                        o =
                                                WriteOptions.pinned(
                                                        Integer.parseInt(
                                                                Files.readString(vf).trim()));
                                    }
                                    return new ConformanceAssets(
                                            dump,
                                            hex,
                                            o,
                                            !LENIENT.contains(dump.getFileName().toString()));
                                } catch (IOException e) {
                                    throw new UncheckedIOException(e);
                                }
                            })
                    .toList();
        }
    }

    /** The {@code should-fail-*} inputs. */
    public static List<Path> shouldFail() throws IOException {
        Path dir = SharedAssets.composefsAssets();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("should-fail-"))
                    .sorted()
                    .toList();
        }
    }
}
