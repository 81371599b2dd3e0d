package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.nio.file.Path;

/**
 * The ways {@link ComposefsMounter} mounts on kernels older than its main path needs (as
 * composefs-rs keeps its {@code mountcompat}). The main path is the new mount API with a detached,
 * file-backed EROFS handed to an overlay with {@code lowerdir+}/{@code datadir+}; each fallback
 * here is taken only when the kernel answers the main path with the error named below, so on a
 * current kernel none of this runs:
 *
 * <ul>
 *   <li>{@link #erofsThroughLoop}: EROFS from a loop device, when mounting it from the image file
 *       fails with {@code ENOTBLK} (file-backed EROFS came with Linux 6.12); or always when the
 *       mounter is told to ({@code forceLoop}, which tests use).
 *   <li>{@link #legacyErofs}: EROFS through {@code mount(2)}, when {@code fsopen} is {@code ENOSYS}
 *       (no new mount API, before 5.2).
 *   <li>{@link #attachLower}: overlayfs before 6.15 refuses a detached layer with {@code EINVAL};
 *       {@link ComposefsMounter} then attaches the EROFS at a private directory and remembers it
 *       for later mounts ({@code detachedLowerWorks}).
 *   <li>{@link #legacyOverlay}: the overlay through {@code mount(2)} with an option string, when
 *       overlayfs has no new mount API ({@code ENOSYS}), only its legacy option parser (probed by
 *       {@link #overlayHasOnlyLegacyParser}, before 6.5) or refuses the new API's options with
 *       {@code EINVAL}; first with data-only layers ({@code lowerdir=L::D}), then, when that is
 *       {@code EINVAL} (no data-only layers, before 6.5), with the object directories as ordinary
 *       lower layers (composefs images hide them behind their 00..ff whiteout stubs and opaque
 *       root).
 * </ul>
 */
final class MountCompat {
    private MountCompat() {}

    /** Mounts EROFS from a device path (the loop device's). */
    @FunctionalInterface
    interface ErofsFromDevice {
        void mount(String devicePath) throws Refused, MountException;
    }

    /**
     * Kernels before 6.12 (no file-backed EROFS): the image goes through a read-only loop device
     * ({@link LoopDevice}, autoclear), which {@code layer} keeps until it is released. Chosen when
     * the EROFS mount from the image file fails with {@code ENOTBLK}, or always with {@code
     * forceLoop}; a refusal of the loop device is final.
     */
    static void erofsThroughLoop(int imageFd, Path image, ErofsLayer layer, ErofsFromDevice erofs)
            throws MountException {
        layer.loop = LoopDevice.attach(imageFd, image.toString());
        try {
            erofs.mount(layer.loop.path());
        } catch (Refused r) {
            throw new MountException(r.getMessage());
        }
    }

    /**
     * Kernels without the new mount API (before 5.2): EROFS through {@code mount(2)} at {@code
     * dir}, a private directory the caller made. Chosen when {@code fsopen("erofs")} fails with
     * {@code ENOSYS}.
     */
    static void legacyErofs(String source, Path dir, boolean acl, String what) throws Refused {
        try {
            LibC.INSTANCE.mount(
                    source,
                    dir.toString(),
                    "erofs",
                    new NativeLong(LibC.MS_RDONLY),
                    acl ? "" : "noacl");
        } catch (LastErrorException e) {
            throw new Refused(e.getErrorCode(), Errno.describe(what, e));
        }
    }

    /**
     * Overlayfs before 6.5 was not ported to the new mount API's parser: fsconfig then goes to the
     * generic legacy parser, which takes any key, where the new one refuses an unknown key. Probes
     * that with a key no overlayfs knows; true means the overlay needs {@link #legacyOverlay}.
     */
    static boolean overlayHasOnlyLegacyParser(FsContext ctx) {
        try {
            ctx.setString("unsupported", "unsupported");
            return true;
        } catch (LastErrorException e) {
            ctx.log(); // drop the expected complaint
            return false;
        }
    }

    /**
     * Overlayfs before 6.15 takes no detached mount as layer: the EROFS is attached at a private
     * directory in the scratch dir (detached again once the overlay holds it, see {@link
     * ErofsLayer#release}). Chosen when the new-API overlay with a detached lower layer fails with
     * {@code EINVAL}; the mounter remembers that and attaches every later EROFS right away.
     */
    static void attachLower(ErofsLayer lower, Path image) throws MountException {
        lower.attach(image);
    }

    /**
     * The overlay through {@code mount(2)} with an option string (the EROFS attached first, as
     * that needs a path): with data-only layers, else (before 6.5, {@code EINVAL}) with the object
     * directories as ordinary lower layers. Chosen when overlayfs has no new mount API ({@code
     * fsopen} {@code ENOSYS}), only the legacy parser ({@link #overlayHasOnlyLegacyParser}), or
     * refused the new API's mount with {@code EINVAL} although the lower layer was attached (e.g.
     * before 6.8, which has no {@code lowerdir+}/{@code datadir+}); {@code newApiError} is then
     * that refusal and is added to the error.
     */
    static void legacyOverlay(
            ErofsLayer erofs,
            Path image,
            Path target,
            MountOptions o,
            boolean enforce,
            String newApiError)
            throws MountException {
        erofs.attach(image);
        Path lower = Path.of(erofs.path());
        String also = newApiError == null ? "" : "; new mount API: " + newApiError;
        try {
            overlayLegacy(lower, target, o, enforce, true);
        } catch (Refused r) {
            if (r.errno != Errno.EINVAL) {
                throw new MountException(r.getMessage() + also);
            }
            try {
                overlayLegacy(lower, target, o, enforce, false);
            } catch (Refused r2) {
                throw new MountException(r2.getMessage() + also);
            }
        }
    }

    private static void overlayLegacy(
            Path lower, Path target, MountOptions o, boolean enforce, boolean dataOnly)
            throws Refused {
        StringBuilder data =
                new StringBuilder("metacopy=on,redirect_dir=on,lowerdir=").append(escape(lower));
        for (Path b : o.basedirs()) {
            data.append(dataOnly ? "::" : ":").append(escape(b));
        }
        if (o.upperdir() != null) {
            data.append(",upperdir=")
                    .append(escape(o.upperdir()))
                    .append(",workdir=")
                    .append(escape(o.workdir()));
        }
        if (enforce) {
            data.append(",verity=require");
        }
        long flags =
                LibC.MS_SILENT
                        | (o.readOnly() ? LibC.MS_RDONLY : 0)
                        | (o.nosuidNodev() ? LibC.MS_NOSUID | LibC.MS_NODEV : 0);
        try {
            LibC.INSTANCE.mount(
                    "composefs",
                    target.toString(),
                    "overlay",
                    new NativeLong(flags),
                    data.toString());
        } catch (LastErrorException e) {
            throw new Refused(
                    e.getErrorCode(),
                    Errno.describe(
                            "cannot mount the composefs overlay on "
                                    + target
                                    + " (legacy options '"
                                    + data
                                    + "')",
                            e));
        }
    }

    /**
     * The legacy mount(2) data string of overlayfs: ',' separates options and ':' layers, and a '\'
     * escapes the next character, so all three are escaped in paths. (The new mount API needs this
     * for none of the layer paths; see {@link FsContext#setOverlayDir} for the upper and work dirs.)
     */
    static String escape(Path p) {
        StringBuilder out = new StringBuilder();
        for (char c : p.toString().toCharArray()) {
            if (c == ',' || c == ':' || c == '\\') {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
    }
}
