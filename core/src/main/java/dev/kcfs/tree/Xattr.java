package dev.kcfs.tree;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/** An extended attribute: name and value are arbitrary bytes (names sort bytewise). */
public record Xattr(byte[] name, byte[] value) {
    /** Bytewise order of names, as the image format sorts them. */
    public static final Comparator<Xattr> BY_NAME =
            (a, b) -> Arrays.compareUnsigned(a.name, b.name);

    public static Xattr of(String name, String value) {
        return new Xattr(
                name.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
    }

    public static Xattr of(String name, byte[] value) {
        return new Xattr(name.getBytes(StandardCharsets.UTF_8), value);
    }

    public boolean nameStartsWith(byte[] prefix) {
        return name.length >= prefix.length
                && Arrays.equals(name, 0, prefix.length, prefix, 0, prefix.length);
    }

    public String nameString() {
        return new String(name, StandardCharsets.ISO_8859_1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Xattr x && Arrays.equals(name, x.name) && Arrays.equals(value, x.value);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(name) + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return nameString() + "=" + new String(value, StandardCharsets.ISO_8859_1);
    }
}
