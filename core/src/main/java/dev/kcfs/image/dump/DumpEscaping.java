package dev.kcfs.image.dump;

import java.io.ByteArrayOutputStream;

/**
 * The escaping of composefs dump fields (docs/format.md, 'Escaping'), both ways. Decoding accepts {@code \\},
 * {@code \n}, {@code \r}, {@code \t} and {@code \xHH}; encoding is canonical (what composefs-info
 * prints), so a decoded-then-encoded field of a canonical dump is byte-identical.
 */
public final class DumpEscaping {
    /**
     * Where a field appears: decides whether {@code =} is escaped (XATTR) and whether {@code -} alone
     * is (PAYLOAD, CONTENT). LS_PATH is the {@code composefs-info ls} variant that leaves spaces raw.
     */
    public enum Context {
        PATH,
        PAYLOAD,
        CONTENT,
        XATTR,
        LS_PATH
    }

    private static final byte[] HEX =
            "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Per byte: 0 = literal, 1 = backslash escape letter in ESC_LETTER, 2 = \xHH. For paths/payload/content. */
    private static final byte[] CLASS_PLAIN = new byte[256];

    private static final byte[] CLASS_XATTR = new byte[256];
    private static final byte[] CLASS_LS = new byte[256];

    static {
        for (int b = 0; b < 256; b++) {
            byte c;
            if (b == '\\' || b == '\n' || b == '\r' || b == '\t') {
                c = 1;
            } else if (b >= 0x21 && b <= 0x7e) {
                c = 0;
            } else {
                c = 2;
            }
            CLASS_PLAIN[b] = c;
            CLASS_XATTR[b] = b == '=' ? 2 : c;
            CLASS_LS[b] = b == ' ' ? 0 : c;
        }
    }

    private DumpEscaping() {}

    /** Result code of {@link #decode}: an escape other than the supported ones. */
    static final int BAD_ESCAPE = -1;

    /**
     * Decodes {@code src[from, to)} into {@code dst} (which must have room for {@code to - from}
     * bytes: decoding never grows). Returns the decoded length or {@link #BAD_ESCAPE}.
     */
    static int decode(byte[] src, int from, int to, byte[] dst) {
        int o = 0;
        for (int i = from; i < to; i++) {
            byte b = src[i];
            if (b != '\\') {
                dst[o++] = b;
                continue;
            }
            if (++i >= to) {
                return BAD_ESCAPE;
            }
            switch (src[i]) {
                case '\\':
                    dst[o++] = '\\';
                    break;
                case 'n':
                    dst[o++] = '\n';
                    break;
                case 'r':
                    dst[o++] = '\r';
                    break;
                case 't':
                    dst[o++] = '\t';
                    break;
                case 'x':
                    {
                        if (i + 2 >= to) { // exactly two hex digits must follow
                            return BAD_ESCAPE;
                        }
                        int hi = Character.digit(src[i + 1], 16);
                        int lo = Character.digit(src[i + 2], 16);
                        if (hi < 0 || lo < 0) {
                            return BAD_ESCAPE;
                        }
                        dst[o++] = (byte) (hi << 4 | lo);
                        i += 2;
                        break;
                    }
                default:
                    return BAD_ESCAPE;
            }
        }
        return o;
    }

    /** Decodes a whole escaped field; throws {@link IllegalArgumentException} on a bad escape. */
    public static byte[] decode(byte[] escaped) {
        byte[] out = new byte[escaped.length];
        int n = decode(escaped, 0, escaped.length, out);
        if (n < 0) {
            throw new IllegalArgumentException(
                    "Unsupported escape type in '"
                            + new String(escaped, java.nio.charset.StandardCharsets.ISO_8859_1)
                            + "'");
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Encodes {@code value} for the given field, as composefs-info prints it. */
    public static byte[] encode(byte[] value, Context context) {
        ByteSink sink = new ByteSink(value.length + 16);
        encode(value, context, sink);
        return sink.toByteArray();
    }

    static void encode(byte[] v, Context context, ByteSink out) {
        if ((context == Context.PAYLOAD || context == Context.CONTENT)
                && v.length == 1
                && v[0] == '-') {
            out.write('\\', 'x', '2', 'd');
            return;
        }
        byte[] cls =
                context == Context.XATTR
                        ? CLASS_XATTR
                        : context == Context.LS_PATH ? CLASS_LS : CLASS_PLAIN;
        out.ensure(v.length * 4);
        byte[] d = out.buf;
        int o = out.len;
        for (byte x : v) {
            int b = x & 0xff;
            switch (cls[b]) {
                case 0:
                    d[o++] = x;
                    break;
                case 1:
                    d[o++] = '\\';
                    d[o++] = (byte) (b == '\\' ? '\\' : b == '\n' ? 'n' : b == '\r' ? 'r' : 't');
                    break;
                default:
                    d[o++] = '\\';
                    d[o++] = 'x';
                    d[o++] = HEX[b >> 4];
                    d[o++] = HEX[b & 15];
            }
        }
        out.len = o;
    }

    /** A growable byte buffer without synchronisation (unlike {@link ByteArrayOutputStream}). */
    static final class ByteSink {
        byte[] buf;
        int len;

        ByteSink(int capacity) {
            buf = new byte[Math.max(16, capacity)];
        }

        void ensure(int extra) {
            if (len + extra > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
            }
        }

        void write(int b) {
            ensure(1);
            buf[len++] = (byte) b;
        }

        void write(int a, int b, int c, int d) {
            ensure(4);
            buf[len++] = (byte) a;
            buf[len++] = (byte) b;
            buf[len++] = (byte) c;
            buf[len++] = (byte) d;
        }

        void write(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, buf, len, b.length);
            len += b.length;
        }

        void writeDecimal(long v) {
            if (v < 0) {
                write('-');
                if (v == Long.MIN_VALUE) {
                    write(
                            "9223372036854775808"
                                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    return;
                }
                v = -v;
            }
            ensure(20);
            int start = len;
            do {
                buf[len++] = (byte) ('0' + v % 10);
                v /= 10;
            } while (v != 0);
            reverse(start);
        }

        void writeUnsignedDecimal(long v) {
            if (v >= 0) {
                writeDecimal(v);
            } else {
                write(
                        Long.toUnsignedString(v)
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
        }

        void writeOctal(int v) {
            ensure(12);
            int start = len;
            long u = v & 0xffffffffL;
            do {
                buf[len++] = (byte) ('0' + (u & 7));
                u >>>= 3;
            } while (u != 0);
            reverse(start);
        }

        void writeHex(byte[] bytes) {
            ensure(bytes.length * 2);
            for (byte x : bytes) {
                buf[len++] = HEX[(x >> 4) & 15];
                buf[len++] = HEX[x & 15];
            }
        }

        private void reverse(int start) {
            for (int i = start, j = len - 1; i < j; i++, j--) {
                byte t = buf[i];
                buf[i] = buf[j];
                buf[j] = t;
            }
        }

        byte[] toByteArray() {
            return java.util.Arrays.copyOf(buf, len);
        }
    }
}
