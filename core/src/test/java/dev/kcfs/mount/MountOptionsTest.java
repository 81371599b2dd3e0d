package dev.kcfs.mount;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.verity.FsVerity;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountOptionsTest {
    @Test
    void parsesUpstreamOptions() {
        String hex = FsVerity.digest(new byte[] {1}).hex();
        MountOptions o =
                MountOptions.parse(
                        "basedir=/a:/b\\:c,digest=" + hex + ",upperdir=/u\\,x,workdir=/w");
        assertThat(o.basedirs()).containsExactly(Path.of("/a"), Path.of("/b:c"));
        assertThat(o.digest().hex()).isEqualTo(hex);
        assertThat(o.verity())
                .as("digest implies verity, as upstream")
                .isEqualTo(VerityMode.REQUIRED);
        assertThat(o.upperdir()).isEqualTo(Path.of("/u,x"));
        assertThat(o.readOnly()).as("writable by default with an upper dir").isFalse();
        assertThat(MountOptions.parse("basedir=/o,tryverity,ro").verity())
                .isEqualTo(VerityMode.IF_SUPPORTED);
        assertThat(MountOptions.parse("basedir=/o").readOnly()).isTrue();
        assertThat(MountOptions.parse("basedir=/o,upperdir=/u,workdir=/w,ro").readOnly()).isTrue();
        assertThat(MountOptions.parse("basedir=/o,verity").verity()).isEqualTo(VerityMode.REQUIRED);
    }

    @Test
    void rejectsBadOptionsNamingThem() {
        assertThatThrownBy(() -> MountOptions.parse("basedir=/o,colour=blue"))
                .hasMessageContaining("colour");
        assertThatThrownBy(() -> MountOptions.parse("verity")).hasMessageContaining("basedir");
        assertThatThrownBy(() -> MountOptions.parse("basedir=/o,upperdir=/u"))
                .hasMessageContaining("workdir");
        assertThatThrownBy(() -> MountOptions.parse("basedir=/o,digest=abc"))
                .hasMessageContaining("digest");
        assertThatThrownBy(() -> MountOptions.parse("basedir=/o,idmap=/proc/1/ns/user"))
                .hasMessageContaining("idmap");
        assertThat(List.of(MountCompat.escape(Path.of("/a,b:c\\d"))))
                .containsExactly("/a\\,b\\:c\\\\d");
    }
}
