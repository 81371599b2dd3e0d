package dev.kcfs.csi;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Resolves image names through the node store layout (ARCHITECTURE.md §5): {@code refs/<name>}
 * names {@code images/<digest>.cfs}, either as a symlink or as a file holding the digest.
 * The name was validated as a Kubernetes object name before it gets here, so it cannot climb
 * out of {@code refs/}.
 */
public final class StoreLayoutImages implements ImageSource {
    private final Path refs;
    private final Path images;

    public StoreLayoutImages(Path storeRoot) {
        this.refs = storeRoot.resolve("refs");
        this.images = storeRoot.resolve("images");
    }

    @Override
    public Optional<ResolvedImage> resolve(String name) throws IOException {
        Path ref = refs.resolve(name);
        String pointer;
        if (Files.isSymbolicLink(ref)) {
            pointer = Files.readSymbolicLink(ref).getFileName().toString();
        } else if (Files.isRegularFile(ref, LinkOption.NOFOLLOW_LINKS)) {
            pointer = Files.readString(ref, StandardCharsets.US_ASCII).trim();
        } else {
            return Optional.empty();
        }
        String hex = pointer.substring(pointer.lastIndexOf('/') + 1);
        if (hex.endsWith(".cfs")) {
            hex = hex.substring(0, hex.length() - 4);
        }
        Digest digest;
        try {
            digest = Digest.parse(hex);
        } catch (IllegalArgumentException e) {
            throw new IOException("ref " + ref + " does not name an image digest (" + pointer + "); rebuild the image", e);
        }
        Path file = images.resolve(digest.hex() + ".cfs");
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            // a ref whose image is gone is a missing image: the build hook can make it again
            return Optional.empty();
        }
        return Optional.of(new ResolvedImage(name, digest, file));
    }
}
