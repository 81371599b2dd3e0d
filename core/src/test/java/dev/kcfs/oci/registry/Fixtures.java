package dev.kcfs.oci.registry;

import dev.kcfs.oci.tar.TarBuilder;
import java.util.Random;

/** Layer contents shared by the pull tests: every entry type, binary xattrs, hardlinks, whiteouts and opaque dirs. */
public final class Fixtures {
    public static final byte[] CAP = {
        1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    };
    public static final byte[] BINARY = {0, '\n', (byte) 0xff, '=', 0x7f, (byte) 0x80};
    public static final byte[] BIG = random(1, 700_000);
    public static final byte[] MEDIUM = random(2, 5_000);

    private Fixtures() {}

    public static byte[] random(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Lower layer. */
    public static byte[] base() {
        return new TarBuilder()
                .entry("bin/")
                .type('5')
                .mode(0755)
                .add()
                .entry("bin/tool")
                .body(BIG)
                .mode(0755)
                .owner(0, 0)
                .pax("mtime", "1700000000.25")
                .xattr("security.capability", CAP)
                .xattr("user.bin", BINARY)
                .add()
                .entry("bin/tool-link")
                .type('1')
                .link("bin/tool")
                .add()
                .entry("bin/sh")
                .type('2')
                .link("tool")
                .mode(0777)
                .add()
                .entry("etc/")
                .type('5')
                .mode(0755)
                .add()
                .entry("etc/motd")
                .body("hello from the base layer\n")
                .mode(0644)
                .add()
                .entry("etc/empty")
                .mode(0600)
                .owner(1000, 1000)
                .add()
                .entry("etc/victim")
                .body(MEDIUM)
                .add()
                .entry("etc/gone/")
                .type('5')
                .mode(0755)
                .add()
                .entry("etc/gone/inside")
                .body("x")
                .add()
                .entry("opaque/")
                .type('5')
                .mode(0755)
                .add()
                .entry("opaque/old")
                .body(MEDIUM)
                .add()
                .entry("dev/")
                .type('5')
                .mode(0755)
                .add()
                .entry("dev/null")
                .type('3')
                .dev(1, 3)
                .mode(0666)
                .add()
                .entry("dev/sda")
                .type('4')
                .dev(8, 0)
                .mode(0660)
                .add()
                .entry("run/")
                .type('5')
                .mode(0755)
                .add()
                .entry("run/fifo")
                .type('6')
                .mode(0600)
                .add()
                .build();
    }

    /** Middle layer: whiteouts and an opaque directory. */
    public static byte[] middle() {
        return new TarBuilder()
                .entry("etc/")
                .type('5')
                .mode(0755)
                .add()
                .entry("etc/.wh.victim")
                .add()
                .entry("etc/.wh.gone")
                .add()
                .entry("etc/motd")
                .body("overridden by the middle layer\n")
                .add()
                .entry("opaque/")
                .type('5')
                .mode(0700)
                .add()
                .entry("opaque/.wh..wh..opq")
                .add()
                .entry("opaque/new")
                .body(random(3, 3000))
                .add()
                .build();
    }

    /** Top layer: more hardlinks, a long non-UTF-8 name. */
    public static byte[] top() {
        return new TarBuilder()
                .entry("data/")
                .type('5')
                .mode(0755)
                .add()
                .entry("data/shared")
                .body(MEDIUM)
                .mode(0444)
                .add()
                .entry("data/shared-again")
                .type('1')
                .link("data/shared")
                .add()
                .entry("data/" + "long-name-".repeat(20))
                .body("long")
                .gnuLongName()
                .add()
                .entry(new byte[] {'d', 'a', 't', 'a', '/', (byte) 0xe9, 't', (byte) 0xe9})
                .body("latin-1 name")
                .add()
                .build();
    }
}
