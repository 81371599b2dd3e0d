package dev.kcfs.mount;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.LibC;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A read-only loop device over an image, for kernels whose EROFS cannot mount a regular file
 * (before 6.12, {@code ENOTBLK}). Autoclear: the device goes away once its last user (the mount)
 * does, so closing our fd right after mounting leaves nothing to clean up.
 */
final class LoopDevice implements AutoCloseable {
    static final long LOOP_CTL_GET_FREE = 0x4C82;
    static final long LOOP_CONFIGURE = 0x4C0A;
    static final int LO_FLAGS_READ_ONLY = 1;
    static final int LO_FLAGS_AUTOCLEAR = 4;
    static final int LO_FLAGS_DIRECT_IO = 16;

    /** struct loop_config: fd, block_size, struct loop_info64 (232 bytes), __reserved[8]. */
    static final int CONFIG_SIZE = 4 + 4 + 232 + 64;

    /** offset of loop_info64.lo_flags inside loop_config */
    static final int FLAGS_OFFSET = 8 + 52;

    private final String path;
    private int fd;

    private LoopDevice(String path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    static byte[] config(int backingFd, int flags) {
        ByteBuffer b = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.nativeOrder());
        b.putInt(0, backingFd);
        b.putInt(4, 4096);
        b.putInt(FLAGS_OFFSET, flags);
        return b.array();
    }

    static LoopDevice attach(int imageFd, String image) throws MountException {
        LibC c = LibC.INSTANCE;
        for (int attempt = 0; attempt < 8; attempt++) {
            int ctl;
            try {
                ctl = c.open("/dev/loop-control", LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            } catch (LastErrorException e) {
                throw new MountException(
                        Errno.describe(
                                "this kernel cannot mount EROFS from a file and /dev/loop-control is unusable for "
                                        + image,
                                e));
            }
            int n;
            try {
                n = c.ioctl(ctl, new NativeLong(LOOP_CTL_GET_FREE), new NativeLong(0));
            } catch (LastErrorException e) {
                throw new MountException(Errno.describe("no free loop device for " + image, e));
            } finally {
                c.close(ctl);
            }
            String dev = "/dev/loop" + n;
            int fd;
            try {
                fd = c.open(dev, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
            } catch (LastErrorException e) {
                throw new MountException(Errno.describe("cannot open " + dev + " for " + image, e));
            }
            byte[] cfg =
                    config(imageFd, LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
            try (Memory m = new Memory(cfg.length)) {
                m.write(0, cfg, 0, cfg.length);
                c.ioctl(fd, new NativeLong(LOOP_CONFIGURE), m);
                return new LoopDevice(dev, fd);
            } catch (LastErrorException e) {
                c.close(fd);
                if (e.getErrorCode() != Errno.EBUSY) {
                    throw new MountException(
                            Errno.describe("cannot set up " + dev + " over " + image, e));
                }
                // another process took this device between GET_FREE and CONFIGURE: try the next
            }
        }
        throw new MountException(
                "no free loop device for " + image + " after 8 attempts (contention)");
    }

    String path() {
        return path;
    }

    @Override
    public void close() {
        if (fd >= 0) {
            LibC.INSTANCE.close(fd);
            fd = -1;
        }
    }
}
