package dev.kcfs.oci;

import java.util.regex.Pattern;

/**
 * A registry image reference: {@code [registry[:port]/]repository[:tag][@sha256:…]}, with Docker's
 * defaults (no registry = Docker Hub, single-name repositories there get {@code library/}, no tag = latest).
 *
 * @param registry   host[:port] as used for the API and credentials ({@code docker.io} for Docker Hub)
 * @param tag        null when only a digest is given
 * @param digest     null unless pinned
 */
public record ImageReference(String registry, String repository, String tag, String digest) {
    public static final String DOCKER_HUB = "docker.io";

    /** A repository path: lowercase components joined by {@code /}; the CRD's image pattern is built from it. */
    public static final String REPOSITORY_PATTERN =
            "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*";

    /** A tag, as in the OCI distribution spec; the CRD's image pattern is built from it. */
    public static final String TAG_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";

    private static final Pattern REPOSITORY = Pattern.compile(REPOSITORY_PATTERN);
    private static final Pattern TAG = Pattern.compile(TAG_PATTERN);

    /** Parses a reference; throws {@link IllegalArgumentException} saying which part is wrong. */
    public static ImageReference parse(String ref) {
        String rest = ref;
        String digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
            try {
                Digests.sha256Hex(digest, "reference " + ref);
            } catch (OciException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
        }
        String registry = DOCKER_HUB;
        int slash = rest.indexOf('/');
        if (slash > 0) {
            String first = rest.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                registry = first;
                rest = rest.substring(slash + 1);
            }
        }
        String tag = null;
        int colon = rest.lastIndexOf(':');
        if (colon >= 0) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw new IllegalArgumentException(
                        "reference '" + ref + "': tag '" + tag + "' is not a valid tag");
            }
        }
        if (!REPOSITORY.matcher(rest).matches()) {
            throw new IllegalArgumentException(
                    "reference '"
                            + ref
                            + "': repository '"
                            + rest
                            + "' is not valid (lowercase letters, digits, separators . _ - and /)");
        }
        if (registry.equals("index.docker.io") || registry.equals("registry-1.docker.io")) {
            registry = DOCKER_HUB;
        }
        if (registry.equals(DOCKER_HUB) && !rest.contains("/")) {
            rest = "library/" + rest;
        }
        if (tag == null && digest == null) {
            tag = "latest";
        }
        return new ImageReference(registry, rest, tag, digest);
    }

    /**
     * As {@link #parse}, for callers on the {@link OciException} boundary (the operator pinning
     * {@code spec.source.image}): a bad reference is an {@link OciException.Kind#INVALID_REFERENCE}.
     */
    public static ImageReference parseChecked(String ref) throws OciException {
        if (ref == null || ref.isBlank()) {
            throw new OciException(
                    OciException.Kind.INVALID_REFERENCE,
                    "reference is empty; expected [registry/]repository[:tag][@sha256:<hex>]");
        }
        try {
            return parse(ref);
        } catch (IllegalArgumentException e) {
            throw new OciException(OciException.Kind.INVALID_REFERENCE, e.getMessage(), e);
        }
    }

    /** The registry/repository@digest form of this reference pinned to {@code manifestDigest} (the tag dropped). */
    public String pinned(String manifestDigest) {
        return registry + "/" + repository + "@" + manifestDigest;
    }

    /** The host the API lives on (Docker Hub's API host differs from its name). */
    public String apiHost() {
        return registry.equals(DOCKER_HUB) ? "registry-1.docker.io" : registry;
    }

    /** The digest if pinned, else the tag: what goes after {@code /manifests/}. */
    public String manifestReference() {
        return digest != null ? digest : tag;
    }

    @Override
    public String toString() {
        return registry
                + "/"
                + repository
                + (tag != null ? ":" + tag : "")
                + (digest != null ? "@" + digest : "");
    }
}
