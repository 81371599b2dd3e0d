package dev.kcfs.verity;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * {@link BlockHash} through OpenSSL's libcrypto (libssl3 on Debian, present on nearly every Linux
 * machine), bound with JNA's direct mapping. The JDK has no way to run SHA-256 natively before
 * C2 compiles its Java code, and no library on Maven Central does it with less than a JNI binding
 * of its own, so the binding is here: three calls per block ({@code SHA256_Init}, {@code _Update},
 * {@code _Final}: the low-level functions, which OpenSSL 3 still exports and which, unlike its
 * one-shot {@code SHA256()}, do not look the algorithm up on every call), on native memory only,
 * so nothing is converted per call.
 *
 * <p>Loaded once; unavailable (and {@link BlockHash} uses the JDK) when libcrypto or a function is
 * missing, when {@code KCFS_NATIVE_SHA256=0}, or when its answer to a known input is wrong.
 */
final class OpenSslBlockHash implements BlockHash {
    static final boolean AVAILABLE = load();

    private static final int STAGED_BLOCKS = 64;

    /** Room for OpenSSL's SHA256_CTX (112 bytes on 64-bit) with margin. */
    private static final int CTX_SIZE = 256;

    private final Memory ctx = new Memory(CTX_SIZE);
    private final Memory staging = new Memory((long) STAGED_BLOCKS * BLOCK);
    private final Memory hashes = new Memory((long) STAGED_BLOCKS * HASH);
    private final long ctxAddress = Pointer.nativeValue(ctx);
    private final long stagingAddress = Pointer.nativeValue(staging);
    private final long hashesAddress = Pointer.nativeValue(hashes);

    /** The direct mapping, in a class of its own so that a failed bind leaves us loadable. */
    private static final class Calls {
        static String library;

        static {
            NativeLibrary lib = null;
            UnsatisfiedLinkError missing = null;
            // OpenSSL 3, then 1.1 (same functions), then whatever the unversioned name gives
            for (String name : List.of("libcrypto.so.3", "libcrypto.so.1.1", "crypto")) {
                try {
                    lib = NativeLibrary.getInstance(name);
                    library = name;
                    break;
                } catch (UnsatisfiedLinkError e) {
                    missing = e;
                }
            }
            if (lib == null) {
                throw missing;
            }
            Native.register(Calls.class, lib);
        }

        static native int SHA256_Init(long ctx);

        static native int SHA256_Update(long ctx, long data, long len);

        static native int SHA256_Final(long md, long ctx);
    }

    private static boolean load() {
        if ("0".equals(System.getenv("KCFS_NATIVE_SHA256"))) {
            return false;
        }
        try {
            OpenSslBlockHash probe = new OpenSslBlockHash();
            byte[] abc = {'a', 'b', 'c'};
            byte[] got = new byte[HASH];
            probe.hash(abc, 0, abc.length, got, 0);
            byte[] want =
                    HexFormat.of()
                            .parseHex(
                                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
            return Arrays.equals(got, want);
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }

    static String describe() {
        return "OpenSSL's SHA-256 (" + Calls.library + ")";
    }

    private void one(long data, long len, long out) {
        if (Calls.SHA256_Init(ctxAddress) != 1
                || Calls.SHA256_Update(ctxAddress, data, len) != 1
                || Calls.SHA256_Final(out, ctxAddress) != 1) {
            throw new IllegalStateException("libcrypto's SHA-256 failed");
        }
    }

    @Override
    public void blocks(byte[] src, int off, int n, byte[] out, int outOff) {
        while (n > 0) {
            int k = Math.min(n, STAGED_BLOCKS);
            staging.write(0, src, off, k * BLOCK);
            for (int i = 0; i < k; i++) {
                one(stagingAddress + (long) i * BLOCK, BLOCK, hashesAddress + (long) i * HASH);
            }
            hashes.read(0, out, outOff, k * HASH);
            off += k * BLOCK;
            outOff += k * HASH;
            n -= k;
        }
    }

    @Override
    public void blocks(ByteBuffer direct, int pos, int n, byte[] out, int outOff) {
        long base = Pointer.nativeValue(Native.getDirectBufferPointer(direct)) + pos;
        while (n > 0) {
            int k = Math.min(n, STAGED_BLOCKS);
            for (int i = 0; i < k; i++) {
                one(base + (long) i * BLOCK, BLOCK, hashesAddress + (long) i * HASH);
            }
            hashes.read(0, out, outOff, k * HASH);
            base += (long) k * BLOCK;
            outOff += k * HASH;
            n -= k;
        }
    }

    @Override
    public void hash(byte[] src, int off, int len, byte[] out, int outOff) {
        if (len > staging.size()) {
            throw new IllegalArgumentException("at most " + staging.size() + " bytes at once");
        }
        staging.write(0, src, off, len);
        one(stagingAddress, len, hashesAddress);
        hashes.read(0, out, outOff, HASH);
    }
}
