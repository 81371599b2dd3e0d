package dev.kcfs.oci.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.oci.OciException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Registry credentials from a docker config JSON ({@code ~/.docker/config.json}, podman's
 * {@code auth.json}) or a Kubernetes {@code kubernetes.io/dockerconfigjson} secret payload (same
 * format), or the legacy {@code .dockercfg} map: {@code auth} (base64 user:password) or
 * {@code username}/{@code password}. Credential helpers and {@code identitytoken} entries are not
 * used: a node agent reads the pull secret it is pointed at.
 */
public final class DockerConfig {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, RegistryCredentials> byRegistry;

    private DockerConfig(Map<String, RegistryCredentials> byRegistry) {
        this.byRegistry = Map.copyOf(byRegistry);
    }

    public static DockerConfig empty() {
        return new DockerConfig(Map.of());
    }

    public static DockerConfig read(Path file) throws IOException {
        try {
            return parse(Files.readAllBytes(file), file.toString());
        } catch (java.nio.file.NoSuchFileException e) {
            throw new OciException("auth file " + file + " does not exist");
        }
    }

    /** @param what names the input for messages (a path, a secret name) */
    public static DockerConfig parse(byte[] json, String what) throws OciException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new OciException("auth config " + what + " is not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new OciException("auth config " + what + " is not a JSON object");
        }
        JsonNode auths =
                root.has("auths")
                        ? root.get("auths")
                        : root; // legacy .dockercfg has no "auths" level
        Map<String, RegistryCredentials> out = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : auths.properties()) {
            JsonNode a = e.getValue();
            if (!a.isObject()) {
                continue;
            }
            String user = a.path("username").asText(null);
            String pass = a.path("password").asText(null);
            String auth = a.path("auth").asText(null);
            if ((user == null || pass == null) && auth != null && !auth.isEmpty()) {
                String decoded;
                try {
                    decoded =
                            new String(
                                    Base64.getDecoder().decode(auth.trim()),
                                    StandardCharsets.UTF_8);
                } catch (IllegalArgumentException ex) {
                    throw new OciException(
                            "auth config "
                                    + what
                                    + ": the 'auth' of "
                                    + e.getKey()
                                    + " is not base64");
                }
                int colon = decoded.indexOf(':');
                if (colon < 0) {
                    throw new OciException(
                            "auth config "
                                    + what
                                    + ": the 'auth' of "
                                    + e.getKey()
                                    + " is not base64(user:password)");
                }
                user = decoded.substring(0, colon);
                pass = decoded.substring(colon + 1);
            }
            // identitytoken (an OAuth refresh token from `docker login` with SSO) needs the OAuth
            // POST flow,
            // which pull secrets do not use: such entries are skipped rather than sent wrongly
            if (user != null && pass != null) {
                out.put(normalise(e.getKey()), new RegistryCredentials(user, pass));
            }
        }
        return new DockerConfig(out);
    }

    /**
     * This config and then {@code other}: for a registry both have a login for, this one's login is
     * used (the first pull secret listed wins, as when a client tries them in order and keeps the
     * first that names the registry). Registries only {@code other} names are added.
     */
    public DockerConfig merge(DockerConfig other) {
        Map<String, RegistryCredentials> all = new HashMap<>(other.byRegistry);
        all.putAll(byRegistry);
        return new DockerConfig(all);
    }

    /** Whether no registry has a login (an empty or identity-token-only config). */
    public boolean isEmpty() {
        return byRegistry.isEmpty();
    }

    /** Credentials for a registry host[:port] (Docker Hub under any of its names), if configured. */
    public Optional<RegistryCredentials> forRegistry(String registry) {
        return Optional.ofNullable(byRegistry.get(normalise(registry)));
    }

    /** Keys may be URLs ({@code https://index.docker.io/v1/}) or bare hosts. */
    static String normalise(String key) {
        String k = key.trim();
        int scheme = k.indexOf("://");
        if (scheme >= 0) {
            k = k.substring(scheme + 3);
        }
        int slash = k.indexOf('/');
        if (slash >= 0) {
            k = k.substring(0, slash);
        }
        k = k.toLowerCase(java.util.Locale.ROOT);
        if (k.equals("index.docker.io") || k.equals("registry-1.docker.io")) {
            k = "docker.io";
        }
        return k;
    }
}
