package dev.kcfs.oci;

import java.util.Locale;

/** An OCI platform: {@code os/architecture[/variant]}, as in image indexes. */
public record Platform(String os, String architecture, String variant) {

    /** Parses {@code linux/amd64} or {@code linux/arm64/v8}. */
    public static Platform parse(String s) {
        String[] p = s.split("/", -1);
        if (p.length < 2
                || p.length > 3
                || p[0].isEmpty()
                || p[1].isEmpty()
                || (p.length == 3 && p[2].isEmpty())) {
            throw new IllegalArgumentException(
                    "platform '" + s + "' is not OS/ARCH or OS/ARCH/VARIANT (e.g. linux/arm64)");
        }
        return new Platform(p[0], p[1], p.length == 3 ? p[2] : null);
    }

    /** The platform of this JVM, in Go's (and so OCI's) names. */
    public static Platform current() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String goArch =
                switch (arch) {
                    case "amd64", "x86_64" -> "amd64";
                    case "aarch64", "arm64" -> "arm64";
                    case "x86", "i386", "i686" -> "386";
                    case "arm" -> "arm";
                    case "ppc64le" -> "ppc64le";
                    case "s390x" -> "s390x";
                    case "riscv64" -> "riscv64";
                    default -> arch;
                };
        return new Platform(os.startsWith("linux") ? "linux" : os, goArch, null);
    }

    /** Whether an index entry's platform satisfies this request (a request without variant takes any variant). */
    public boolean matches(Platform offered) {
        return offered != null
                && os.equals(offered.os)
                && architecture.equals(offered.architecture)
                && (variant == null || variant.equals(offered.variant));
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant != null ? "/" + variant : "");
    }
}
