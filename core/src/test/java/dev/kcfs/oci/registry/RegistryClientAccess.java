package dev.kcfs.oci.registry;

import java.util.LinkedHashMap;
import java.util.Map;

/** Test access to the client's package-private challenge parser. */
public final class RegistryClientAccess {
    private RegistryClientAccess() {}

    public static Map<String, String> parseChallenge(String header) {
        RegistryClient.Challenge c = RegistryClient.Challenge.parse(header);
        Map<String, String> m = new LinkedHashMap<>(c.params());
        m.put("scheme", c.scheme());
        return m;
    }
}
