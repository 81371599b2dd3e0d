package dev.kcfs.publish;

import dev.kcfs.verity.Digest;
import java.util.Optional;

/**
 * {@code spec.expectedDigest} of each ComposefsImage: the composefs digest the image must have on
 * the node. The node agent answers from its watch cache; without it nothing is expected.
 * {@link #mismatch} is the one comparison of an image's digest with it (the build, the agent's
 * plan and every publish use it).
 */
@FunctionalInterface
public interface ExpectedDigests {
    ExpectedDigests NONE = name -> Optional.empty();

    /** {@code spec.expectedDigest} of the ComposefsImage {@code imageName}, if it sets one. */
    Optional<String> expectedDigest(String imageName);

    /** What is wrong when {@code actual} is not the {@code expected} digest (null: nothing expected). */
    static Optional<String> mismatch(String imageName, String expected, Digest actual) {
        if (expected == null || expected.equals(actual.hex())) {
            return Optional.empty();
        }
        return Optional.of(
                "the composefs image of ComposefsImage "
                        + imageName
                        + " has digest "
                        + actual.hex()
                        + " but spec.expectedDigest is "
                        + expected
                        + "; check the source image and spec.formatVersion, or fix"
                        + " spec.expectedDigest");
    }
}
