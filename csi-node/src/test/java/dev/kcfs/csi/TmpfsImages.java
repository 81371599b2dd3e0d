package dev.kcfs.csi;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.LibC;
import dev.kcfs.mount.ImageMounter;
import dev.kcfs.mount.MountException;
import dev.kcfs.mount.Mounted;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.BuiltImages;
import dev.kcfs.publish.ImageAccess;
import dev.kcfs.publish.ResolvedImage;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test stand-in for the node store and the composefs mount: each "image" is a read-only tmpfs
 * whose files say which image it is. The kernel mounts are real, so publishing, binding,
 * overlays, reference counts and recovery are exercised exactly as with composefs images.
 */
final class TmpfsImages implements BuiltImages, ImageMounter {
    private final Map<String, ResolvedImage> images = new ConcurrentHashMap<>();

    /** digest -> the name whose content it holds */
    private final Map<Digest, String> contents = new ConcurrentHashMap<>();

    final AtomicInteger mounts = new AtomicInteger();

    ResolvedImage add(String name) {
        return add(name, name);
    }

    /** Points {@code name} at the image whose content is derived from {@code content} (an image update). */
    ResolvedImage add(String name, String content) {
        ResolvedImage image = new ResolvedImage(name, digestOf(content));
        contents.put(image.digest(), name);
        images.put(name, image);
        return image;
    }

    void remove(String name) {
        images.remove(name);
    }

    static Digest digestOf(String name) {
        try {
            return new Digest(
                    MessageDigest.getInstance("SHA-256")
                            .digest(name.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** What the image's {@code hello.txt} holds. */
    static String hello(String name) {
        return "hello from image " + name + "\n";
    }

    @Override
    public Optional<ResolvedImage> resolve(String name) {
        return Optional.ofNullable(images.get(name));
    }

    /** A read-only tmpfs; verity is never enforced (the test image has no file bodies to check). */
    @Override
    public Mounted mount(Digest image, Path mountpoint, VerityMode verity) throws IOException {
        if (verity == VerityMode.REQUIRED) {
            throw new MountException(
                    MountException.Kind.REFUSED,
                    "verity was required for test image "
                            + image.hex()
                            + " but tmpfs has no fs-verity");
        }
        try {
            LibC.INSTANCE.mount(
                    "kcfs-test",
                    mountpoint.toString(),
                    "tmpfs",
                    new NativeLong(0),
                    "size=1m,mode=0755");
            Files.writeString(
                    mountpoint.resolve("hello.txt"), hello(contents.getOrDefault(image, "?")));
            Files.createDirectories(mountpoint.resolve("etc"));
            Files.writeString(mountpoint.resolve("etc/digest"), image.hex());
            LibC.INSTANCE.mount(
                    null,
                    mountpoint.toString(),
                    null,
                    new NativeLong(
                            LibC.MS_REMOUNT | LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV),
                    null);
        } catch (LastErrorException e) {
            throw new IOException(
                    "test image mount at " + mountpoint + ": errno " + e.getErrorCode(), e);
        }
        mounts.incrementAndGet();
        return new Mounted(mountpoint, false, false, null, false, List.of());
    }

    /**
     * A mounter over these images that holds every mount until {@code release} (at most 30 s),
     * signalling {@code mounting} first, so a test can act while a mount is in flight.
     */
    ImageMounter gated(CountDownLatch mounting, CountDownLatch release) {
        return (image, mountpoint, verity) -> {
            mounting.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return TmpfsImages.this.mount(image, mountpoint, verity);
        };
    }

    /** allowedNamespaces per image for {@link ImageAccess}. */
    static ImageAccess access(Map<String, Set<String>> allowed) {
        return name -> allowed.getOrDefault(name, Set.of());
    }
}
