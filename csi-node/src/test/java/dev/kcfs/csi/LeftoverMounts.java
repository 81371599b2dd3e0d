package dev.kcfs.csi;

import dev.kcfs.mount.KernelMounts;
import dev.kcfs.mount.MountTable;
import java.io.IOException;
import java.nio.file.Path;

/** Test teardown for the CSI and agent test nodes: what a failed test left mounted under their directory. */
public final class LeftoverMounts {
    private LeftoverMounts() {}

    /** Detaches every mount under {@code root}, in rounds: a detach can uncover one mounted beneath it. */
    public static void detachUnder(Path root) throws IOException {
        for (int round = 0; round < 8; round++) {
            boolean any = false;
            for (MountTable.Entry e : MountTable.read().entries()) {
                if (e.mountPoint().startsWith(root)) {
                    new KernelMounts().detach(e.mountPoint());
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
    }
}
