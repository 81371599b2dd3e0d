package dev.kcfs.mount;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A snapshot of this process's mount table ({@code /proc/self/mountinfo}). The kernel's table is
 * the truth about what is mounted, so publish checks, unpublish and restart recovery read it
 * instead of trusting remembered state.
 */
public final class MountTable {
    /** One line of mountinfo (proc(5)): {@code options} are the per-mount ones (ro, nosuid, nodev, …). */
    public record Entry(
            int id,
            int parentId,
            String device,
            String root,
            Path mountPoint,
            String options,
            String fsType,
            String source,
            String superOptions) {
        /** Whether the per-mount options include {@code option} (e.g. nosuid). */
        public boolean hasOption(String option) {
            return List.of(options.split(",")).contains(option);
        }

        /** The value of {@code key=} in the super options (e.g. overlay's lowerdir), if present. */
        public Optional<String> superOption(String key) {
            for (String option : splitOptions(superOptions)) {
                if (option.startsWith(key + "=")) {
                    return Optional.of(option.substring(key.length() + 1));
                }
            }
            return Optional.empty();
        }

        /** The lower layers an overlay names ({@code lowerdir=A:B}, {@code lowerdir+=A}); empty for other file systems. */
        public List<String> lowerLayers() {
            if (!fsType.equals("overlay")) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (String option : splitOptions(superOptions)) {
                if (option.startsWith("lowerdir=")) {
                    out.addAll(List.of(option.substring("lowerdir=".length()).split(":")));
                } else if (option.startsWith("lowerdir+=")) {
                    out.add(option.substring("lowerdir+=".length()));
                }
            }
            return out;
        }
    }

    private final List<Entry> entries;

    private MountTable(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    public static MountTable read() {
        return read(Path.of("/proc/self/mountinfo"));
    }

    static MountTable read(Path mountinfo) {
        try {
            return parse(Files.readString(mountinfo));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the mount table " + mountinfo, e);
        }
    }

    static MountTable parse(String text) {
        List<Entry> entries = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(" ");
            int dash = 6;
            while (dash < f.length && !f[dash].equals("-")) {
                dash++;
            }
            if (dash + 3 > f.length) {
                throw new IllegalArgumentException("unexpected mountinfo line: " + line);
            }
            entries.add(
                    new Entry(
                            Integer.parseInt(f[0]),
                            Integer.parseInt(f[1]),
                            f[2],
                            unescape(f[3]),
                            Path.of(unescape(f[4])),
                            f[5],
                            f[dash + 1],
                            unescape(f[dash + 2]),
                            dash + 3 < f.length ? unescape(f[dash + 3]) : ""));
        }
        return new MountTable(entries);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The topmost mount at exactly {@code mountPoint}, if anything is mounted there. */
    public Optional<Entry> at(Path mountPoint) {
        Entry found = null;
        for (Entry e : entries) {
            if (e.mountPoint().equals(mountPoint)) {
                found = e; // later lines are mounted on top of earlier ones
            }
        }
        return Optional.ofNullable(found);
    }

    public boolean isMountPoint(Path path) {
        return at(path).isPresent();
    }

    /**
     * The mounts that use the mount at {@code mountPoint}, besides its own entries there: binds
     * show its device, overlays name it as a lower layer. This is the one "still in use?" rule of
     * shared image mounts; empty when nothing is mounted at {@code mountPoint}.
     */
    public List<Entry> usersOf(Path mountPoint) {
        Optional<Entry> top = at(mountPoint);
        if (top.isEmpty()) {
            return List.of();
        }
        String path = mountPoint.toString();
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            if (!e.mountPoint().equals(mountPoint)
                    && (e.device().equals(top.get().device()) || e.lowerLayers().contains(path))) {
                out.add(e);
            }
        }
        return out;
    }

    public long count(Path mountPoint) {
        return entries.stream().filter(e -> e.mountPoint().equals(mountPoint)).count();
    }

    /** mountinfo escapes space, tab, newline and backslash as three-digit octal. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }

    /** Splits mount options on commas, honouring overlay's backslash escapes. */
    static List<String> splitOptions(String options) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (c == '\\' && i + 1 < options.length()) {
                cur.append(options.charAt(++i));
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (cur.length() > 0) {
            out.add(cur.toString());
        }
        return out;
    }
}
