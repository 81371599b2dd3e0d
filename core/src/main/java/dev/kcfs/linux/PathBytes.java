package dev.kcfs.linux;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * File names as the exact bytes the kernel has, which need not be valid in any encoding. NIO keeps
 * the raw bytes inside a {@link Path} but only shows them decoded; these recover them (and build a
 * Path for any bytes), so that C library calls reach files NIO listed.
 */
public final class PathBytes {
    /** Directory iteration can only return names in the JVM's file name encoding; see {@link #name}. */
    private static final boolean UTF8_FILE_NAMES =
            "UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"));

    private PathBytes() {}

    /**
     * The exact bytes of a directory entry's name. NIO keeps the raw bytes inside the Path but
     * only shows them decoded; a name that is not valid in the file name encoding decodes with
     * replacement characters, so for those (rare) names the bytes come from {@link Path#toUri()},
     * which percent-encodes the raw bytes.
     */
    public static byte[] name(Path child) {
        String s = child.getFileName().toString();
        if (UTF8_FILE_NAMES && s.indexOf('\uFFFD') < 0) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        byte[] full = rawBytes(child.toUri().getRawPath());
        int end = full.length;
        if (end > 1 && full[end - 1] == '/') {
            end--; // toUri marks directories with a trailing slash
        }
        int start = end;
        while (start > 0 && full[start - 1] != '/') {
            start--;
        }
        return Arrays.copyOfRange(full, start, end);
    }

    /** The exact bytes of a path as the kernel sees it (relative paths stay relative when possible). */
    public static byte[] of(Path p) {
        String s = p.toString();
        if (UTF8_FILE_NAMES && s.indexOf('\uFFFD') < 0) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        byte[] full = rawBytes(p.toAbsolutePath().toUri().getRawPath());
        int end = full.length;
        if (end > 1 && full[end - 1] == '/') {
            end--;
        }
        return Arrays.copyOf(full, end);
    }

    /** A Path for exact name bytes: the inverse of {@link #of}. */
    public static Path pathOf(byte[] bytes) {
        if (UTF8_FILE_NAMES) {
            String s = new String(bytes, StandardCharsets.UTF_8);
            if (Arrays.equals(s.getBytes(StandardCharsets.UTF_8), bytes)) {
                return Path.of(s);
            }
        }
        boolean absolute = bytes.length > 0 && bytes[0] == '/';
        Path base = absolute ? Path.of("/") : Path.of("").toAbsolutePath();
        StringBuilder uri = new StringBuilder("file://").append(base.toUri().getRawPath());
        if (uri.charAt(uri.length() - 1) != '/') {
            uri.append('/');
        }
        for (int i = absolute ? 1 : 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            if ((b >= 'a' && b <= 'z')
                    || (b >= 'A' && b <= 'Z')
                    || (b >= '0' && b <= '9')
                    || b == '/'
                    || b == '-'
                    || b == '.'
                    || b == '_'
                    || b == '~') {
                uri.append((char) b);
            } else {
                uri.append('%')
                        .append(Character.forDigit(b >> 4, 16))
                        .append(Character.forDigit(b & 15, 16));
            }
        }
        return Path.of(java.net.URI.create(uri.toString()));
    }

    /** Decodes the percent escapes of a raw URI path into bytes. */
    private static byte[] rawBytes(String rawPath) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(rawPath.length());
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c == '%' && i + 2 < rawPath.length()) {
                out.write(Integer.parseInt(rawPath.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                // unescaped characters of a raw URI path are ASCII
                out.write(c);
            }
        }
        return out.toByteArray();
    }
}
