package dev.kcfs.verity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.LastErrorException;
import dev.kcfs.linux.Errno;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelVerityTest {
    @TempDir Path dir;

    private static long ioc(int dir, int type, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    @Test
    void requestCodesFollowTheKernelIocEncoding() {
        // _IOW = direction 1, _IOWR = direction 3; sizeof(fsverity_enable_arg) = 128,
        // sizeof(fsverity_digest) = 4
        assertThat(KernelVerity.FS_IOC_ENABLE_VERITY).isEqualTo(ioc(1, 'f', 133, 128));
        assertThat(KernelVerity.FS_IOC_MEASURE_VERITY).isEqualTo(ioc(3, 'f', 134, 4));
    }

    @Test
    void enableSendsComposefsParametersWithZeroReservedFields() throws Exception {
        AtomicReference<byte[]> seen = new AtomicReference<>();
        AtomicLong request = new AtomicLong();
        KernelVerity kv =
                new KernelVerity(
                        (fd, req, arg) -> {
                            request.set(req);
                            seen.set(arg.getByteArray(0, KernelVerity.ENABLE_ARG_SIZE));
                        });
        assertThat(kv.enable(7, "f")).isEqualTo(KernelVerity.Enable.ENABLED);
        assertThat(request.get()).isEqualTo(KernelVerity.FS_IOC_ENABLE_VERITY);
        ByteBuffer b = ByteBuffer.wrap(seen.get()).order(ByteOrder.nativeOrder());
        assertThat(b.getInt(0)).as("version").isEqualTo(1);
        assertThat(b.getInt(4)).as("hash_algorithm sha256").isEqualTo(1);
        assertThat(b.getInt(8)).as("block_size").isEqualTo(4096);
        for (int i = 12; i < 128; i++) {
            assertThat(seen.get()[i]).as("byte %d (salt, signature, reserved)", i).isZero();
        }
    }

    @Test
    void enableErrnoMapping() throws Exception {
        assertThat(failingEnable(Errno.EOPNOTSUPP)).isEqualTo(KernelVerity.Enable.UNSUPPORTED);
        assertThat(failingEnable(Errno.ENOTTY)).isEqualTo(KernelVerity.Enable.UNSUPPORTED);
        assertThat(failingEnable(Errno.EEXIST)).isEqualTo(KernelVerity.Enable.ALREADY_ENABLED);
        assertThatThrownBy(() -> failingEnable(Errno.ETXTBSY))
                .isInstanceOf(VerityException.class)
                .hasMessageContaining("obj/ab")
                .hasMessageContaining("open for writing");
        assertThatThrownBy(() -> failingEnable(Errno.EINVAL))
                .isInstanceOf(VerityException.class)
                .hasMessageContaining("obj/ab")
                .hasMessageContaining("EINVAL");
        assertThatThrownBy(() -> failingEnable(Errno.EIO))
                .isInstanceOf(VerityException.class)
                .satisfies(e -> assertThat(((VerityException) e).errno()).isEqualTo(Errno.EIO));
    }

    private static KernelVerity.Enable failingEnable(int errno) throws VerityException {
        return new KernelVerity(
                        (fd, req, arg) -> {
                            throw new LastErrorException(errno);
                        })
                .enable(3, "obj/ab");
    }

    @Test
    void measureOffersCapacityAndReadsTheDigest() throws Exception {
        byte[] digest = new byte[32];
        new Random(1).nextBytes(digest);
        AtomicReference<byte[]> sent = new AtomicReference<>();
        KernelVerity kv =
                new KernelVerity(
                        (fd, req, arg) -> {
                            assertThat(req).isEqualTo(KernelVerity.FS_IOC_MEASURE_VERITY);
                            sent.set(arg.getByteArray(0, 4));
                            arg.setShort(0, (short) 1);
                            arg.setShort(2, (short) 32);
                            arg.write(4, digest, 0, 32);
                        });
        KernelVerity.Measurement m = kv.measure(5, "img");
        assertThat(m.status()).isEqualTo(KernelVerity.Measurement.Status.MEASURED);
        assertThat(m.digest()).isEqualTo(new Digest(digest));
        ByteBuffer b = ByteBuffer.wrap(sent.get()).order(ByteOrder.nativeOrder());
        assertThat(b.getShort(2)).as("digest_size in = capacity").isEqualTo((short) 64);
    }

    @Test
    void measureRejectsOtherAlgorithmsAndMapsErrno() throws Exception {
        KernelVerity sha512 =
                new KernelVerity(
                        (fd, req, arg) -> {
                            arg.setShort(0, (short) 2);
                            arg.setShort(2, (short) 64);
                        });
        assertThatThrownBy(() -> sha512.measure(5, "img.cfs"))
                .isInstanceOf(VerityException.class)
                .hasMessageContaining("img.cfs")
                .hasMessageContaining("sha256");
        assertThat(failingMeasure(Errno.ENODATA).status())
                .isEqualTo(KernelVerity.Measurement.Status.NOT_ENABLED);
        assertThat(failingMeasure(Errno.EOPNOTSUPP).status())
                .isEqualTo(KernelVerity.Measurement.Status.UNSUPPORTED);
        assertThat(failingMeasure(Errno.ENOTTY).status())
                .isEqualTo(KernelVerity.Measurement.Status.UNSUPPORTED);
        assertThatThrownBy(() -> failingMeasure(Errno.EOVERFLOW))
                .isInstanceOf(VerityException.class)
                .hasMessageContaining("x.cfs");
    }

    private static KernelVerity.Measurement failingMeasure(int errno) throws VerityException {
        return new KernelVerity(
                        (fd, req, arg) -> {
                            throw new LastErrorException(errno);
                        })
                .measure(3, "x.cfs");
    }

    /** The real kernel: enable then measure must give the user-space digest. */
    @Test
    void realKernelEnableAndMeasureAgreeWithUserSpaceDigest() throws Exception {
        Path f = dir.resolve("data");
        byte[] content = new byte[10000];
        new Random(2).nextBytes(content);
        Files.write(f, content);
        KernelVerity kv = new KernelVerity();
        KernelVerity.Measurement before = kv.measure(f);
        KernelVerity.Enable result = kv.enable(f);
        assumeTrue(
                result != KernelVerity.Enable.UNSUPPORTED,
                "skipped: the kernel or the filesystem of "
                        + dir
                        + " has no fs-verity (EOPNOTSUPP/ENOTTY; e.g. CONFIG_FS_VERITY unset)");
        assertThat(before.status()).isEqualTo(KernelVerity.Measurement.Status.NOT_ENABLED);
        assertThat(kv.measure(f)).isEqualTo(KernelVerity.Measurement.of(FsVerity.digest(content)));
        assertThat(kv.enable(f)).isEqualTo(KernelVerity.Enable.ALREADY_ENABLED);
    }

    @Test
    void realKernelWithoutVerityReportsUnsupportedNotAnError() throws Exception {
        Path f = dir.resolve("plain");
        Files.write(f, new byte[] {1, 2, 3});
        KernelVerity.Measurement m = new KernelVerity().measure(f);
        assertThat(m.status())
                .isIn(
                        KernelVerity.Measurement.Status.UNSUPPORTED,
                        KernelVerity.Measurement.Status.NOT_ENABLED);
        assertThatThrownBy(() -> new KernelVerity().measure(dir.resolve("missing")))
                .isInstanceOf(VerityException.class)
                .hasMessageContaining("missing");
    }
}
