package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.kcfs;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestImage;
import dev.kcfs.oci.registry.TestImage.Layer;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.verity.FsVerity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code kcfs pull} against a real docker-registry on loopback. */
class PullCommandTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();

    @TempDir Path dir;

    private static long objectCount(Path store) throws Exception {
        try (Stream<Path> s = Files.walk(store.resolve("objects"))) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void pullsIntoTheStoreSetsTheRefAndRepullsAddNothing() throws Exception {
        TestImage image =
                new TestImage(
                        "amd64",
                        List.of(
                                Layer.gzip(Fixtures.base()),
                                Layer.zstd(Fixtures.middle()),
                                Layer.plain(Fixtures.top())));
        image.push(registry.pusher(), "cli/every", "v1");
        String ref = registry.address() + "/cli/every:v1";
        Path store = dir.resolve("store");

        CliRun first =
                kcfs(
                        "pull",
                        "--store",
                        store.toString(),
                        "--plain-http",
                        "--platform",
                        "linux/amd64",
                        "--name",
                        "every",
                        "--progress",
                        ref);
        assertThat(first.rc()).as(first.toString()).isZero();
        String digest = first.outText().strip();
        assertThat(digest).matches("[0-9a-f]{64}");
        assertThat(first.err())
                .contains("3 layers")
                .contains("layer 3/3 done")
                .contains("ref every");
        Path imageFile = store.resolve("images").resolve(digest + ".cfs");
        assertThat(FsVerity.digest(imageFile).hex()).isEqualTo(digest);
        assertThat(kcfs("store", "--store", store.toString(), "refs").outText())
                .isEqualTo("every " + digest + "\n");
        // the big binary of the fixture is an object under its own digest
        assertThat(
                        Files.readAllBytes(
                                store.resolve("objects")
                                        .resolve(FsVerity.digest(Fixtures.BIG).objectPath())))
                .isEqualTo(Fixtures.BIG);
        long objects = objectCount(store);

        CliRun again =
                kcfs(
                        "pull",
                        "--store",
                        store.toString(),
                        "--plain-http",
                        "--platform",
                        "linux/amd64",
                        "--name",
                        "every",
                        ref);
        assertThat(again.rc()).as(again.toString()).isZero();
        assertThat(again.outText().strip()).as("same image, same digest").isEqualTo(digest);
        assertThat(again.err()).as("quiet without a terminal").isEmpty();
        assertThat(objectCount(store)).isEqualTo(objects);
        assertThat(kcfs("store", "--store", store.toString(), "fsck").outText())
                .endsWith("clean\n");
    }

    @Test
    void failuresNameTheReferenceAndLeaveNoRef() throws Exception {
        Path store = dir.resolve("store");
        String missing = registry.address() + "/cli/absent:v1";
        CliRun r =
                kcfs(
                        "pull",
                        "--store",
                        store.toString(),
                        "--plain-http",
                        "--name",
                        "absent",
                        missing);
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.err()).contains("cli/absent");
        assertThat(kcfs("store", "--store", store.toString(), "refs").outText()).isEmpty();

        CliRun badPlatform =
                kcfs("pull", "--store", store.toString(), "--platform", "nonsense", missing);
        assertThat(badPlatform.rc()).isEqualTo(1);
        assertThat(badPlatform.err()).contains("--platform nonsense");

        CliRun badAuth =
                kcfs(
                        "pull",
                        "--store",
                        store.toString(),
                        "--authfile",
                        dir.resolve("nope.json").toString(),
                        missing);
        assertThat(badAuth.rc()).isEqualTo(1);
        assertThat(badAuth.err()).contains("nope.json");
    }
}
