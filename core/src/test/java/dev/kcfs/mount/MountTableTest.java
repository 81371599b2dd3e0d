package dev.kcfs.mount;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountTableTest {
    private static final String SAMPLE =
            """
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
        assertThat(shared.hasOption("relatime")).isTrue();
        assertThat(shared.hasOption("nosuid")).isFalse();
        assertThat(shared.superOption("datadir+")).contains("/var/lib/kcfs/objects");

        Path target = Path.of("/var/lib/kubelet/pods/u 1/volumes/kubernetes.io~csi/my\tvol/mount");
        assertThat(table.count(target)).isEqualTo(2);
        // the topmost mount wins
        assertThat(table.at(target).orElseThrow().id()).isEqualTo(42);
        assertThat(table.at(target).orElseThrow().superOption("lowerdir")).contains("/a,b");
        assertThat(table.isMountPoint(Path.of("/var/lib/kubelet"))).isFalse();
    }

    @Test
    void usersOfASharedMountAreItsBindsAndTheOverlaysOverIt() {
        MountTable table =
                MountTable.parse(
                        """
                22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
                40 22 0:35 / /s/mounts/ab ro,nosuid,nodev - overlay composefs ro,lowerdir+=/proc/self/fd/7
                41 22 0:35 /dir /t/bind-of-a-subdir ro,nosuid,nodev - overlay composefs ro
                42 22 0:36 / /t/rw rw,nosuid,nodev - overlay overlay rw,lowerdir=/s/mounts/ab,upperdir=/u,workdir=/w
                43 22 0:37 / /s/mounts/cd ro - overlay composefs ro
                44 22 0:38 / /t/other rw - overlay overlay rw,lowerdir=/x:/s/mounts/cd,upperdir=/u2,workdir=/w2
                45 22 0:39 / /s/mounts/ef ro - overlay composefs ro
                """);
        assertThat(table.usersOf(Path.of("/s/mounts/ab")))
                .extracting(MountTable.Entry::id)
                .containsExactly(41, 42);
        assertThat(table.usersOf(Path.of("/s/mounts/cd")))
                .extracting(MountTable.Entry::id)
                .containsExactly(44);
        assertThat(table.usersOf(Path.of("/s/mounts/ef"))).isEmpty();
        assertThat(table.usersOf(Path.of("/not/mounted"))).isEmpty();
    }
}
