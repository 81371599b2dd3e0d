package dev.kcfs.verity;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.kcfs.linux.Errno;
import dev.kcfs.linux.FileCalls;
import dev.kcfs.linux.LibC;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The kernel's fs-verity ioctls (docs/format.md, 'fs-verity digests'): enable verity on a file and measure it.
 *
 * <p>Verity is a detected capability: kernels without {@code CONFIG_FS_VERITY} and filesystems
 * without the feature answer EOPNOTSUPP/ENOTTY, which this class reports as {@link Enable#UNSUPPORTED}
 * or {@link Measurement.Status#UNSUPPORTED} rather than as errors. Real failures throw
 * {@link VerityException} naming the file.
 *
 * <p>The ioctl itself goes through {@link Ioctl} so the struct layouts and errno handling can be
 * tested on kernels that lack verity; production code uses {@link #KernelVerity()}.
 */
public final class KernelVerity {
    /** {@code _IOW('f', 133, struct fsverity_enable_arg)}, the struct being 128 bytes. */
    public static final long FS_IOC_ENABLE_VERITY = 0x40806685L;

    /** {@code _IOWR('f', 134, struct fsverity_digest)}, the fixed part being 4 bytes. */
    public static final long FS_IOC_MEASURE_VERITY = 0xc0046686L;

    public static final int HASH_ALG_SHA256 = 1;
    public static final int ENABLE_ARG_SIZE = 128;

    /** Room we offer the kernel for the digest; it fails with EOVERFLOW if its digest is larger. */
    public static final int MEASURE_CAPACITY = 64;

    /** The one syscall this class makes; swapped in tests to observe the bytes crossing the boundary. */
    @FunctionalInterface
    public interface Ioctl {
        /** Returns normally on success; throws {@link LastErrorException} with errno on failure. */
        void call(int fd, long request, Pointer arg) throws LastErrorException;
    }

    public enum Enable {
        ENABLED,
        ALREADY_ENABLED,
        UNSUPPORTED
    }

    /** Outcome of a measure: the digest, or why there is none. */
    public record Measurement(Status status, Digest digest) {
        public enum Status {
            MEASURED,
            /** The filesystem supports verity but this file does not have it enabled (ENODATA). */
            NOT_ENABLED,
            /** The kernel or filesystem has no fs-verity (EOPNOTSUPP, ENOTTY). */
            UNSUPPORTED
        }

        public static Measurement of(Digest d) {
            return new Measurement(Status.MEASURED, d);
        }
    }

    private final Ioctl ioctl;

    public KernelVerity() {
        this((fd, request, arg) -> LibC.INSTANCE.ioctl(fd, new NativeLong(request), arg));
    }

    public KernelVerity(Ioctl ioctl) {
        this.ioctl = ioctl;
    }

    /**
     * The {@code struct fsverity_enable_arg} composefs uses: version 1, sha256, 4096-byte blocks,
     * no salt, no signature, reserved fields zero. Native byte order.
     */
    public static byte[] enableArgument() {
        ByteBuffer b = ByteBuffer.allocate(ENABLE_ARG_SIZE).order(ByteOrder.nativeOrder());
        b.putInt(1); // version
        b.putInt(HASH_ALG_SHA256); // hash_algorithm
        b.putInt(FsVerityHasher.BLOCK_SIZE); // block_size
        b.putInt(0); // salt_size
        b.putLong(0); // salt_ptr
        b.putInt(0); // sig_size
        b.putInt(0); // __reserved1
        b.putLong(0); // sig_ptr
        // __reserved2[11] stays zero: the kernel rejects non-zero reserved fields with EINVAL
        return b.array();
    }

    /** The {@code struct fsverity_digest} header sent to measure: algorithm 0, capacity 64, then room. */
    public static byte[] measureArgument() {
        ByteBuffer b = ByteBuffer.allocate(4 + MEASURE_CAPACITY).order(ByteOrder.nativeOrder());
        b.putShort((short) 0);
        b.putShort((short) MEASURE_CAPACITY);
        return b.array();
    }

    /** Reads the kernel's answer to measure; only sha256 (32 bytes) is accepted, as composefs does. */
    public static Measurement parseMeasurement(byte[] answer, String what) throws VerityException {
        ByteBuffer b = ByteBuffer.wrap(answer).order(ByteOrder.nativeOrder());
        int alg = Short.toUnsignedInt(b.getShort());
        int size = Short.toUnsignedInt(b.getShort());
        if (alg != HASH_ALG_SHA256 || size != Digest.LENGTH) {
            throw new VerityException(
                    what
                            + ": fs-verity uses hash algorithm "
                            + alg
                            + " with "
                            + size
                            + "-byte digests; kcfs only handles sha256 (algorithm 1, 32 bytes). Recreate the file's verity with sha256.",
                    0);
        }
        byte[] d = new byte[Digest.LENGTH];
        b.get(d);
        return Measurement.of(new Digest(d));
    }

    /** Maps a failed enable to its outcome, or throws with a message naming the file. */
    public static Enable enableFailure(int errno, String what) throws VerityException {
        switch (errno) {
            case Errno.EOPNOTSUPP:
            case Errno.ENOTTY:
                return Enable.UNSUPPORTED;
            case Errno.EEXIST:
                return Enable.ALREADY_ENABLED;
            case Errno.ETXTBSY:
                throw new VerityException(
                        what
                                + ": cannot enable fs-verity while the file is open for writing (ETXTBSY); close writers first",
                        errno);
            case Errno.EROFS:
                throw new VerityException(
                        what + ": cannot enable fs-verity on a read-only filesystem (EROFS)",
                        errno);
            case Errno.EINVAL:
                throw new VerityException(
                        what
                                + ": the kernel rejected the fs-verity parameters (EINVAL: sha256, 4096-byte blocks "
                                + "must be supported by this filesystem and its block size)",
                        errno);
            default:
                throw new VerityException(
                        what
                                + ": enabling fs-verity failed: "
                                + Errno.text(errno)
                                + " (errno "
                                + errno
                                + ")",
                        errno);
        }
    }

    /** Maps a failed measure to its outcome, or throws with a message naming the file. */
    public static Measurement measureFailure(int errno, String what) throws VerityException {
        switch (errno) {
            case Errno.ENODATA:
                return new Measurement(Measurement.Status.NOT_ENABLED, null);
            case Errno.EOPNOTSUPP:
            case Errno.ENOTTY:
                return new Measurement(Measurement.Status.UNSUPPORTED, null);
            case Errno.EOVERFLOW:
                throw new VerityException(
                        what
                                + ": its fs-verity digest is larger than 64 bytes; kcfs only handles sha256",
                        errno);
            default:
                throw new VerityException(
                        what
                                + ": measuring fs-verity failed: "
                                + Errno.text(errno)
                                + " (errno "
                                + errno
                                + ")",
                        errno);
        }
    }

    /** Enables verity on an fd opened read-only with no writers left. {@code what} names the file in errors. */
    public Enable enable(int fd, String what) throws VerityException {
        byte[] arg = enableArgument();
        try (Memory m = new Memory(arg.length)) {
            m.write(0, arg, 0, arg.length);
            ioctl.call(fd, FS_IOC_ENABLE_VERITY, m);
            return Enable.ENABLED;
        } catch (LastErrorException e) {
            return enableFailure(e.getErrorCode(), what);
        }
    }

    public Enable enable(Path file) throws VerityException {
        int fd = openReadOnly(file);
        try {
            return enable(fd, file.toString());
        } finally {
            FileCalls.close(fd);
        }
    }

    public Measurement measure(int fd, String what) throws VerityException {
        byte[] arg = measureArgument();
        try (Memory m = new Memory(arg.length)) {
            m.write(0, arg, 0, arg.length);
            ioctl.call(fd, FS_IOC_MEASURE_VERITY, m);
            return parseMeasurement(m.getByteArray(0, arg.length), what);
        } catch (LastErrorException e) {
            return measureFailure(e.getErrorCode(), what);
        }
    }

    public Measurement measure(Path file) throws VerityException {
        int fd = openReadOnly(file);
        try {
            return measure(fd, file.toString());
        } finally {
            FileCalls.close(fd);
        }
    }

    private static int openReadOnly(Path file) throws VerityException {
        try {
            return FileCalls.open(FileCalls.cPath(file), LibC.O_RDONLY | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new VerityException(
                    Errno.describe("cannot open " + file + " to use fs-verity", e),
                    e.getErrorCode());
        }
    }
}
