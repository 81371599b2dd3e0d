package dev.kcfs.csi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.store.Store;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The damage check behind NodeGetVolumeStats: what it sees, and when it looks again. */
class StoreImagesTest {
    @TempDir Path tmp;

    @Test
    void damageIsKeptUntilFsckQuarantinesSomethingThenCheckedAgain() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        byte[] big = new byte[100_000];
        new Random(7).nextBytes(big);
        Files.write(tree.resolve("data.bin"), big);
        Store store = Store.open(tmp.resolve("store"));
        Digest image = ComposefsImages.build(store, tree, "tools");
        StoreImages images = new StoreImages(store);
        assertThat(images.damage(image)).isEmpty();

        // an object deleted by hand is not looked for on every call (kubelet asks once a minute per
        // volume)
        Path object = store.objects().path(FsVerity.digest(big));
        Files.move(object, tmp.resolve("aside"));
        assertThat(images.damage(image)).as("the answer of the last check, kept").isEmpty();

        // fsck quarantining anything makes the next call look again
        Files.writeString(store.quarantineDir().resolve("some-object"), "bad");
        assertThat(images.damage(image))
                .hasValueSatisfying(
                        d ->
                                assertThat(d)
                                        .contains("1 of its objects are missing")
                                        .contains(object.getFileName().toString()));
    }

    @Test
    void aMissingImageFileIsDamageAtOnce() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Files.writeString(tree.resolve("a"), "x".repeat(100));
        Store store = Store.open(tmp.resolve("store"));
        Digest image = ComposefsImages.build(store, tree, "tools");
        StoreImages images = new StoreImages(store);
        assertThat(images.damage(image)).isEmpty();
        Files.delete(store.imagePath(image));
        assertThat(images.damage(image))
                .hasValueSatisfying(d -> assertThat(d).contains("is gone from the node store"));
    }
}
