package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static dev.kcfs.csi.PublishTest.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.mount.MountTable;
import dev.kcfs.mount.VerityMode;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** What a publish checks about the image it mounts: the verity of the shared mount, the expected digest. */
@Tag("root")
class PublishPolicyTest extends CsiNodeTest {
    final Map<String, VerityMode> verity = new ConcurrentHashMap<>();
    final Map<String, String> expected = new ConcurrentHashMap<>();

    PublishPolicyTest() {
        super("tools");
    }

    @Override
    void configure(CsiTestNode node) {
        node.verity = name -> verity.getOrDefault(name, VerityMode.OFF);
        node.expected = name -> Optional.ofNullable(expected.get(name));
    }

    @Test
    void anImageAskingForStricterVerityIsNotServedFromAWeakerSharedMount() throws Exception {
        Path a = node.target("pod-a");
        node.node()
                .nodePublishVolume(
                        publish("vol-a", a, "tools")
                                .build()); // spec.verity Disabled (or the fallback)
        verity.put("tools", VerityMode.IF_SUPPORTED); // the spec changed meanwhile

        Path b = node.target("pod-b");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-b", b, "tools").build()),
                Status.Code.FAILED_PRECONDITION,
                "not served from a weaker mount");
        assertThat(MountTable.read().isMountPoint(b)).isFalse();
        assertThat(node.images.mounts.get()).isEqualTo(1);

        // once the weaker mount's last user is gone, the stricter one is made
        node.node().nodeUnpublishVolume(unpublish("vol-a", a));
        node.node().nodePublishVolume(publish("vol-b", b, "tools").build());
        assertThat(Files.readString(b.resolve("hello.txt"))).isEqualTo(TmpfsImages.hello("tools"));
        assertThat(node.images.mounts.get()).isEqualTo(2);
        assertThat(
                        Files.readString(
                                node.store
                                        .resolve("mounts")
                                        .resolve(TmpfsImages.digestOf("tools").hex() + ".verity")))
                .isEqualTo("IF_SUPPORTED");
    }

    @Test
    void aWeakerRequestSharesTheStricterMount() throws Exception {
        verity.put("tools", VerityMode.IF_SUPPORTED);
        Path a = node.target("pod-a");
        node.node().nodePublishVolume(publish("vol-a", a, "tools").build());
        verity.put("tools", VerityMode.OFF);
        Path b = node.target("pod-b");
        node.node().nodePublishVolume(publish("vol-b", b, "tools").build());
        assertThat(node.images.mounts.get()).isEqualTo(1);
        assertThat(MountTable.read().at(b).orElseThrow().device())
                .isEqualTo(MountTable.read().at(a).orElseThrow().device());
    }

    @Test
    void requiredVerityThatCannotBeHadFailsClearlyAndLeavesNothing() throws Exception {
        verity.put("tools", VerityMode.REQUIRED);
        Path a = node.target("pod-a");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", a, "tools").build()),
                Status.Code.FAILED_PRECONDITION,
                "verity was required");
        assertThat(a).doesNotExist();
        assertThat(node.store.resolve("mounts").resolve(TmpfsImages.digestOf("tools").hex()))
                .doesNotExist();
    }

    @Test
    void aRefThatIsNotTheExpectedDigestIsNotMounted() throws Exception {
        String other = TmpfsImages.digestOf("something else").hex();
        expected.put("tools", other);
        Path a = node.target("pod-a");
        assertCode(
                () -> node.node().nodePublishVolume(publish("vol-a", a, "tools").build()),
                Status.Code.FAILED_PRECONDITION,
                "spec.expectedDigest is " + other);
        assertThat(a).doesNotExist();
        assertThat(node.images.mounts.get()).isZero();

        expected.put("tools", TmpfsImages.digestOf("tools").hex());
        node.node().nodePublishVolume(publish("vol-a", a, "tools").build());
        assertThat(Files.readString(a.resolve("hello.txt"))).isEqualTo(TmpfsImages.hello("tools"));
    }
}
