package dev.kcfs.csi;

import dev.kcfs.mount.ComposefsMounter;
import dev.kcfs.mount.MountOptions;
import dev.kcfs.mount.Mounted;
import dev.kcfs.mount.VerityMode;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared mount of an image: composefs (EROFS from the image file + overlay over the store's
 * objects), with the image's digest pinned so only the image the ref names is ever mounted.
 */
public final class ComposefsImageMounter implements ImageMounter {
    private static final Logger LOG = LoggerFactory.getLogger(ComposefsImageMounter.class);

    private final ComposefsMounter mounter;
    private final Path objects;
    private final ImageVerity verity;

    public ComposefsImageMounter(ComposefsMounter mounter, Path objects, ImageVerity verity) {
        this.mounter = mounter;
        this.objects = objects;
        this.verity = verity;
    }

    /** Every image with the same verity mode. */
    public ComposefsImageMounter(ComposefsMounter mounter, Path objects, VerityMode verity) {
        this(mounter, objects, ImageVerity.fixed(verity));
    }

    @Override
    public void mount(ResolvedImage image, Path mountpoint) throws IOException {
        Mounted m = mounter.mount(image.imageFile(), mountpoint,
                MountOptions.of(objects).withDigest(image.digest()).withVerity(verity.verityOf(image.name())));
        LOG.info("mounted image {} ({}) at {}; verity {}{}", image.name(), image.digest().hex(), mountpoint,
                m.verityEnforced() ? "enforced" : "not enforced", m.notes().isEmpty() ? "" : "; " + m.notes());
    }

    /**
     * Detaches: called only when no volume uses the image any more, and a process of the node
     * (say, a shell someone left in it) must not make unpublish fail forever.
     */
    @Override
    public void unmount(Path mountpoint) throws IOException {
        mounter.unmount(mountpoint, true);
    }
}
