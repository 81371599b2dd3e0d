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
 *   <li>the attached lower layer: overlayfs before 6.15 refuses a detached layer with {@code
 *       EINVAL}; {@link ComposefsMounter} then attaches the EROFS at a private directory ({@link
 *       ErofsLayer#attach}) and remembers it for later mounts.
 *   <li>{@link #legacyOverlay}: the overlay through {@code mount(2)} with an option string, when
 *       overlayfs has only its legacy option parser (before 6.5) or refuses the new API's options;
 *       first with data-only layers ({@code lowerdir=L::D}), then, when that is {@code EINVAL}
 *       (no data-only layers, before 6.5), with the object directories as ordinary lower layers
 *       (composefs images hide them behind their 00..ff whiteout stubs and opaque root).
 * </ul>
 */
final class MountCompat {
    private MountCompat() {}

    /** Mounts EROFS from a device path (the loop device's). */
    @FunctionalInterface
    interface ErofsFromDevice {
        void mount(String devicePath) throws Refused, MountException;
    }

    /** Kernels before 6.12 (no file-backed EROFS): the image goes through a loop device. */
    static void erofsThroughLoop(int imageFd, Path image, ErofsLayer layer, ErofsFromDevice erofs)
            throws MountException {
        layer.loop = LoopDevice.attach(imageFd, image.toString());
        try {
            erofs.mount(layer.loop.path());
        } catch (Refused r) {
            throw new MountException(r.getMessage());
        }
    }

    /** Kernels without the new mount API: EROFS through {@code mount(2)} at {@code dir}. */
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
     * The overlay through {@code mount(2)}: with data-only layers, else (before 6.5) with the object
     * directories as ordinary lower layers. {@code newApiError}, when the new mount API was tried
     * and refused, is added to the error.
     */
    static void legacyOverlay(
            Path lower, Path target, MountOptions o, boolean enforce, String newApiError)
            throws MountException {
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
