package dev.kcfs.csi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountTableTest {
    private static final String SAMPLE = """
            22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
            40 22 0:35 / /var/lib/kcfs/mounts/ab rw,relatime - overlay overlay ro,lowerdir+=/proc/self/fd/7,datadir+=/var/lib/kcfs/objects,redirect_dir=on,metacopy=on
            41 22 0:35 / /var/lib/kubelet/pods/u\\0401/volumes/kubernetes.io~csi/my\\011vol/mount ro,nodev,relatime master:5 - overlay overlay ro
            42 41 0:36 / /var/lib/kubelet/pods/u\\0401/volumes/kubernetes.io~csi/my\\011vol/mount rw - overlay overlay rw,lowerdir=/a\\,b,upperdir=/u,workdir=/w
            """;

    @Test
    void parsesFieldsOptionalTagsAndOctalEscapes() {
        MountTable table = MountTable.parse(SAMPLE);
        assertThat(table.entries()).hasSize(4);
        MountTable.Entry shared = table.at(Path.of("/var/lib/kcfs/mounts/ab")).orElseThrow();
        assertThat(shared.fsType()).isEqualTo("overlay");
        assertThat(shared.device()).isEqualTo("0:35");
        assertThat(shared.superOption("datadir+")).contains("/var/lib/kcfs/objects");

        Path target = Path.of("/var/lib/kubelet/pods/u 1/volumes/kubernetes.io~csi/my\tvol/mount");
        assertThat(table.count(target)).isEqualTo(2);
        // the topmost mount wins
        assertThat(table.at(target).orElseThrow().id()).isEqualTo(42);
        assertThat(table.at(target).orElseThrow().superOption("lowerdir")).contains("/a,b");
        assertThat(table.isMountPoint(Path.of("/var/lib/kubelet"))).isFalse();
    }
}
