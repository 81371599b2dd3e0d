package dev.kcfs.mount;

import dev.kcfs.verity.Digest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What to mount besides the image: the object directories (data-only layers, in order), an
 * optional pinned image digest, the verity mode, and optional upper/work directories for a
 * writable view ({@code readOnly} then chooses whether the overlay itself is read-only), and
 * {@code nosuidNodev}: setuid bits and device nodes of the image show in {@code stat} but take
 * no effect (the node store mounts images other people built this way).
 */
public record MountOptions(
        List<Path> basedirs,
        Digest digest,
        VerityMode verity,
        Path upperdir,
        Path workdir,
        boolean readOnly,
        boolean nosuidNodev) {
    public MountOptions {
        basedirs = List.copyOf(basedirs);
        if ((upperdir == null) != (workdir == null)) {
            throw new IllegalArgumentException(
                    "upperdir and workdir go together: give both for a writable mount, or neither");
        }
    }

    public static MountOptions of(Path... basedirs) {
        return new MountOptions(List.of(basedirs), null, VerityMode.OFF, null, null, true, false);
    }

    public MountOptions withDigest(Digest d) {
        return new MountOptions(basedirs, d, verity, upperdir, workdir, readOnly, nosuidNodev);
    }

    public MountOptions withVerity(VerityMode v) {
        return new MountOptions(basedirs, digest, v, upperdir, workdir, readOnly, nosuidNodev);
    }

    /** Setuid bits and device nodes of the image take no effect ({@code nosuid,nodev}). */
    public MountOptions withNosuidNodev() {
        return new MountOptions(basedirs, digest, verity, upperdir, workdir, readOnly, true);
    }

    /** A writable view: changes go to {@code upper}, the image and the objects stay untouched. */
    public MountOptions writable(Path upper, Path work) {
        return new MountOptions(basedirs, digest, verity, upper, work, false, nosuidNodev);
    }

    /**
     * Parses {@code mount.composefs}-style options: {@code basedir=DIR[:DIR…]}, {@code digest=HEX}
     * (implies verity, as upstream), {@code verity}, {@code tryverity}, {@code upperdir=},
     * {@code workdir=}, {@code ro}, {@code rw}; commas separate options, {@code \} escapes the next
     * character. Unknown options are errors.
     */
    public static MountOptions parse(String options) {
        List<Path> basedirs = new ArrayList<>();
        Digest digest = null;
        VerityMode verity = VerityMode.OFF;
        Path upper = null;
        Path work = null;
        Boolean ro = null;
        for (String opt : split(options, ',')) {
            if (opt.isEmpty()) {
                continue;
            }
            int eq = opt.indexOf('=');
            String key = eq < 0 ? opt : opt.substring(0, eq);
            String value = eq < 0 ? null : opt.substring(eq + 1);
            switch (key) {
                case "basedir":
                    for (String d : split(requireValue(key, value), ':')) {
                        basedirs.add(Path.of(unescape(d)));
                    }
                    break;
                case "digest":
                    try {
                        digest = Digest.parse(unescape(requireValue(key, value)));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(
                                "mount option digest=: " + e.getMessage());
                    }
                    verity = VerityMode.REQUIRED;
                    break;
                case "verity":
                    verity = VerityMode.REQUIRED;
                    break;
                case "tryverity":
                    if (verity != VerityMode.REQUIRED) {
                        verity = VerityMode.IF_SUPPORTED;
                    }
                    break;
                case "upperdir":
                    upper = Path.of(unescape(requireValue(key, value)));
                    break;
                case "workdir":
                    work = Path.of(unescape(requireValue(key, value)));
                    break;
                case "ro":
                    ro = true;
                    break;
                case "rw":
                    ro = false;
                    break;
                case "idmap":
                    throw new IllegalArgumentException(
                            "mount option idmap= is not supported by kcfs yet");
                default:
                    throw new IllegalArgumentException(
                            "unknown mount option '"
                                    + key
                                    + "' (known: basedir, digest, verity, tryverity, upperdir, workdir, ro, rw)");
            }
        }
        if (basedirs.isEmpty()) {
            throw new IllegalArgumentException(
                    "mount option basedir=DIR is required (the object directory)");
        }
        boolean readOnly = ro != null ? ro : upper == null;
        return new MountOptions(basedirs, digest, verity, upper, work, readOnly, false);
    }

    private static String requireValue(String key, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("mount option " + key + "= needs a value");
        }
        return value;
    }

    /** Splits on unescaped separators, keeping escapes for {@link #unescape}. */
    private static List<String> split(String s, char sep) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                cur.append(c).append(s.charAt(++i));
            } else if (c == sep) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    private static String unescape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                c = s.charAt(++i);
            }
            out.append(c);
        }
        return out.toString();
    }
}
