package dev.kcfs.publish;

import dev.kcfs.mount.VerityMode;
import java.util.Objects;

/**
 * What the cluster says about publishing each image: who may mount it, how strictly its files are
 * checked, which digest it must have, how to get it built when the node lacks it, and who to tell
 * that it was used. The node agent answers from its watch cache; without it, {@link #standalone}.
 */
public record ImagePolicy(
        ImageAccess access,
        ImageVerity verity,
        ExpectedDigests expected,
        OnDemandBuilds builds,
        ImageUses uses) {
    public ImagePolicy {
        Objects.requireNonNull(access, "access");
        Objects.requireNonNull(verity, "verity");
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(builds, "builds");
        Objects.requireNonNull(uses, "uses");
    }

    /** No node agent: every namespace, the node's verity mode, no expected digest, no builds, uses not kept. */
    public static ImagePolicy standalone(VerityMode nodeMode) {
        return new ImagePolicy(
                ImageAccess.ANY_NAMESPACE,
                ImageVerity.fixed(nodeMode),
                ExpectedDigests.NONE,
                OnDemandBuilds.DISABLED,
                ImageUses.NONE);
    }
}
