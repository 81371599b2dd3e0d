package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.image.erofs.ErofsWriter;
import dev.kcfs.scan.DirectoryScanner;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ErofsImageObjectsTest {
    @TempDir Path dir;

    @Test
    void readingTheImageGivesTheListOfTheTreeItWasWrittenFrom() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/d"));
        Random r = new Random(1);
        byte[] big = new byte[70000];
        r.nextBytes(big);
        Files.write(src.resolve("a"), big);
        Files.write(src.resolve("same-as-a"), big);
        Files.createLink(src.resolve("hardlink-a"), src.resolve("a"));
        Files.write(src.resolve("inline"), new byte[64]);
        Files.write(src.resolve("small-external"), new byte[65]);
        Files.write(src.resolve("empty"), new byte[0]);
        DirectoryScanner.Scan scan =
                new DirectoryScanner(DirectoryScanner.Options.defaults()).scan(dir.resolve("src"));
        Path img = dir.resolve("img.cfs");
        ErofsWriter.write(scan.root(), ErofsWriter.WriteOptions.defaults(), img);

        ObjectList fromTree = ErofsImageObjects.of(scan.root());
        assertThat(fromTree.digests())
                .containsExactlyInAnyOrderElementsOf(
                        List.of(FsVerity.digest(big), FsVerity.digest(new byte[65])));
        assertThat(new ErofsImageObjects().read(img).digests()).isEqualTo(fromTree.digests());
        ObjectList read = new ErofsImageObjects().read(img);
        assertThat(read.logicalBytes())
                .as("inline and empty files are not external")
                .isGreaterThanOrEqualTo(2L * big.length + 65);
        assertThat(read.digests()).allMatch((Digest d) -> d != null);
    }
}
