package dev.kcfs.operator.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Registry logins by registry host, as read from {@code .dockerconfigjson} pull secrets. Keys are
 * normalised to a bare host[:port] so that "https://index.docker.io/v1/" and "docker.io" match.
 */
public final class RegistryCredentials {
  /** One login (user name and password or token). */
  public record Login(String username, String password) {
    @Override
    public String toString() {
      return "Login[" + username + ", <password hidden>]";
    }
  }

  private final Map<String, Login> byHost;

  private RegistryCredentials(Map<String, Login> byHost) {
    this.byHost = Map.copyOf(byHost);
  }

  public static RegistryCredentials none() {
    return new RegistryCredentials(Map.of());
  }

  /** Later logins for the same host win, so list the most specific secret last. */
  public RegistryCredentials merge(RegistryCredentials other) {
    Map<String, Login> all = new LinkedHashMap<>(byHost);
    all.putAll(other.byHost);
    return new RegistryCredentials(all);
  }

  public Optional<Login> forRegistry(String host) {
    return Optional.ofNullable(byHost.get(normaliseHost(host)));
  }

  public boolean isEmpty() {
    return byHost.isEmpty();
  }

  /**
   * Parses a {@code .dockerconfigjson} document: {@code {"auths": {host: {auth | username+password}}}}.
   *
   * @throws IllegalArgumentException naming what is malformed
   */
  public static RegistryCredentials fromDockerConfigJson(byte[] json, ObjectMapper mapper) {
    JsonNode root;
    try {
      root = mapper.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("is not JSON: " + e.getMessage());
    }
    JsonNode auths = root == null ? null : root.get("auths");
    if (auths == null || !auths.isObject()) {
      throw new IllegalArgumentException("has no \"auths\" object");
    }
    Map<String, Login> byHost = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = auths.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode entry = e.getValue();
      String user = text(entry, "username");
      String pass = text(entry, "password");
      String auth = text(entry, "auth");
      if ((user == null || pass == null) && auth != null) {
        String decoded;
        try {
          decoded = new String(Base64.getDecoder().decode(auth), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException bad) {
          throw new IllegalArgumentException("auths[\"" + e.getKey() + "\"].auth is not base64");
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
          throw new IllegalArgumentException("auths[\"" + e.getKey() + "\"].auth is not user:password");
        }
        user = decoded.substring(0, colon);
        pass = decoded.substring(colon + 1);
      }
      if (user == null || pass == null) {
        throw new IllegalArgumentException("auths[\"" + e.getKey() + "\"] has neither auth nor username/password");
      }
      byHost.put(normaliseHost(e.getKey()), new Login(user, pass));
    }
    return new RegistryCredentials(byHost);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() || v.asText().isEmpty() ? null : v.asText();
  }

  /** "https://index.docker.io/v1/" -> "docker.io"; "Reg.Example:5000/" -> "reg.example:5000". */
  static String normaliseHost(String key) {
    String h = key.trim().toLowerCase(java.util.Locale.ROOT);
    int scheme = h.indexOf("://");
    if (scheme >= 0) {
      h = h.substring(scheme + 3);
    }
    int slash = h.indexOf('/');
    if (slash >= 0) {
      h = h.substring(0, slash);
    }
    if (h.equals("index.docker.io") || h.equals("registry-1.docker.io")) {
      return "docker.io";
    }
    return h;
  }
}
