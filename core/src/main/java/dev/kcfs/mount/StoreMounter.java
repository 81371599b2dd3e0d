package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import dev.kcfs.store.Store;
import dev.kcfs.store.StoreException;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mounts images of a {@link Store}: one shared read-only composefs mount per image at
 * {@code mounts/<digest>/} (so every user of an image reads the same page cache), bind-mounted
 * to each target. The shared mount point is the image's in-use record: GC keeps the image and its
 * objects while it exists. {@link #releaseUnused()} unmounts shared mounts no bind uses any more
 * and drops records left over from before a reboot.
 */
public final class StoreMounter {
    private static final long MS_BIND = 4096;
    private static final long MS_REMOUNT = 32;

    private final Store store;
    private final ComposefsMounter mounter;

    public StoreMounter(Store store, ComposefsMounter mounter) {
        this.store = store;
        this.mounter = mounter;
    }

    /** Mounts an image (ref name or digest) read-only at {@code target}. */
    public Mounted mount(String nameOrDigest, Path target, VerityMode verity) throws MountException, StoreException {
        if (!Files.isDirectory(target)) {
            throw new MountException("mount target " + target + " is not a directory");
        }
        try (Store.Lease lease = store.lease("mount " + nameOrDigest + " at " + target)) {
            Digest image = store.resolve(nameOrDigest);
            Mounted shared = mountShared(image, verity);
            try {
                LibC.INSTANCE.mount(shared.target().toString(), target.toString(), null, new NativeLong(MS_BIND), null);
            } catch (LastErrorException e) {
                throw new MountException(Errno.describe("cannot bind the mount of image " + image.hex() + " to " + target, e));
            }
            try {
                LibC.INSTANCE.mount(null, target.toString(), null, new NativeLong(MS_BIND | MS_REMOUNT | LibC.MS_RDONLY), null);
            } catch (LastErrorException e) {
                // the overlay has no upper layer, so it is read-only anyway; the flag only makes it visible
            }
            return new Mounted(target, shared.verityEnforced(), false, shared.loopDevice(), shared.legacyOverlay(), shared.notes());
        }
    }

    /** The shared mount of an image, made if not there yet (idempotent, safe across processes). */
    public Mounted mountShared(Digest image, VerityMode verity) throws MountException, StoreException {
        Path mp = store.mountPoint(image);
        try (Store.Held lock = store.lockMounts()) {
            MountTable.Entry existing = MountTable.read().at(mp);
            if (existing != null) {
                boolean enforced = List.of(existing.superOptions().split(",")).contains("verity=require");
                if (verity == VerityMode.REQUIRED && !enforced) {
                    throw new MountException("image " + image.hex() + " is already mounted at " + mp
                            + " without verity enforcement, and verity was required; unmount its users first");
                }
                return new Mounted(mp, enforced, false, null, false, List.of("shared mount already present"));
            }
            requireObjects(image);
            store.recordMount(image);
            try {
                return mounter.mount(store.imagePath(image), mp,
                        MountOptions.of(store.objects().root()).withVerity(verity));
            } catch (MountException e) {
                store.removeMountRecord(image);
                throw e;
            }
        }
    }

    /**
     * A missing object would only show up as a read error deep inside a container; refuse the
     * mount instead (one stat per object, on the first mount of an image only).
     */
    private void requireObjects(Digest image) throws MountException, StoreException {
        var list = store.objectList(image);
        if (list.isEmpty()) {
            throw new MountException("image " + image.hex() + " has no object list and the image reader could not read it; run `kcfs store fsck`");
        }
        List<Digest> missing = new ArrayList<>();
        for (Digest o : list.get().digests()) {
            if (!store.objects().contains(o)) {
                missing.add(o);
            }
        }
        if (!missing.isEmpty()) {
            throw new MountException("image " + image.hex() + " refers to " + missing.size() + " object(s) missing from "
                    + store.objects().root() + " (first: " + missing.get(0).objectPath() + "); nothing was mounted. "
                    + "Re-import the image, or run `kcfs store fsck` to see what is damaged");
        }
    }

    /** Unmounts a target made by {@link #mount}; the shared mount stays until {@link #releaseUnused()}. */
    public void unmount(Path target) throws MountException {
        mounter.unmount(target, false);
    }

    /**
     * Unmounts shared mounts that no bind mount uses and removes in-use records of images that are
     * not mounted (e.g. after a reboot). Returns the digests released.
     */
    public List<Digest> releaseUnused() throws MountException, StoreException {
        List<Digest> released = new ArrayList<>();
        try (Store.Held lock = store.lockMounts()) {
            MountTable table = MountTable.read();
            for (Digest image : store.mountRecords()) {
                Path mp = store.mountPoint(image);
                MountTable.Entry shared = table.at(mp);
                if (shared != null) {
                    if (table.usersOf(shared) > 1) {
                        continue;
                    }
                    mounter.unmount(mp, false);
                }
                store.removeMountRecord(image);
                released.add(image);
            }
        }
        return released;
    }

    /** /proc/self/mountinfo, enough of it to find mount points and binds of the same mount. */
    static final class MountTable {
        record Entry(String device, String root, Path mountPoint, String superOptions) {
        }

        private final List<Entry> entries;

        private MountTable(List<Entry> entries) {
            this.entries = entries;
        }

        static MountTable read() throws MountException {
            List<Entry> out = new ArrayList<>();
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                    String[] f = line.split(" ");
                    int sep = line.indexOf(" - ");
                    String[] tail = sep < 0 ? new String[0] : line.substring(sep + 3).split(" ");
                    if (f.length > 4) {
                        out.add(new Entry(f[2], unescape(f[3]), Path.of(unescape(f[4])), tail.length > 2 ? tail[2] : ""));
                    }
                }
            } catch (IOException e) {
                throw new MountException("cannot read /proc/self/mountinfo: " + e.getMessage(), e);
            }
            return new MountTable(out);
        }

        boolean isMountPoint(Path p) {
            return at(p) != null;
        }

        Entry at(Path p) {
            Path abs = p.toAbsolutePath().normalize();
            Entry found = null;
            for (Entry e : entries) {
                if (e.mountPoint().equals(abs)) {
                    found = e; // the last one is the top of a stack of mounts
                }
            }
            return found;
        }

        /** Mounts showing the same filesystem root as {@code e} (the shared mount and its binds). */
        int usersOf(Entry e) {
            int n = 0;
            for (Entry o : entries) {
                if (o.device().equals(e.device()) && o.root().equals(e.root())) {
                    n++;
                }
            }
            return n;
        }

        /** mountinfo escapes space, tab, newline and backslash as \ooo. */
        static String unescape(String s) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\' && i + 4 <= s.length()) {
                    try {
                        out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                        i += 3;
                        continue;
                    } catch (NumberFormatException e) {
                        // not an escape; keep the backslash
                    }
                }
                out.append(c);
            }
            return out.toString();
        }
    }
}
