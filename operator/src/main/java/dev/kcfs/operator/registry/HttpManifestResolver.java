package dev.kcfs.operator.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pins tags with one manifest HEAD (GET when the registry omits Docker-Content-Digest) over the OCI
 * distribution API, answering Bearer-token and Basic challenges with the pull-secret logins.
 *
 * <p>A stop-gap kept in one class on purpose: the core registry client ({@code dev.kcfs.oci}) does
 * this and more for the node agents, and replaces this class once it is on main. Hand-written because
 * no light Java registry client exists (DEPENDENCIES.md: oras-java is too heavy for production).
 */
public final class HttpManifestResolver implements ManifestResolver {
  /** Index types first: pinning the index keeps multi-platform images multi-platform. */
  static final String ACCEPT = String.join(", ",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json");

  private static final String DOCKER_HUB = "docker.io";
  private static final String DOCKER_HUB_API = "registry-1.docker.io";
  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

  /** A parsed reference: registry host as written (or docker.io), repository, tag, digest. */
  public record Reference(String registry, String repository, String tag, String digest) {
    public String pinned(String manifestDigest) {
      return registry + "/" + repository + "@" + manifestDigest;
    }
  }

  private final HttpClient http;
  private final Set<String> plainHttpRegistries;
  private final Duration timeout;
  private final ObjectMapper json;

  /**
   * @param plainHttpRegistries registry hosts (host[:port]) spoken to over http instead of https;
   *     localhost and 127.0.0.1 are always plain http, as docker and containerd treat them
   */
  public HttpManifestResolver(HttpClient http, Set<String> plainHttpRegistries, Duration timeout, ObjectMapper json) {
    this.http = http;
    this.plainHttpRegistries = Set.copyOf(plainHttpRegistries);
    this.timeout = timeout;
    this.json = json;
  }

  @Override
  public String pin(String image, RegistryCredentials credentials) throws ResolveException {
    Reference ref = parse(image);
    if (ref.digest() != null) {
      // Already content-addressed: nothing to look up, and no registry round trip per reconcile.
      return ref.pinned(ref.digest());
    }
    URI uri = baseUri(ref.registry()).resolve("/v2/" + ref.repository() + "/manifests/" + ref.tag());
    Optional<RegistryCredentials.Login> login = credentials.forRegistry(ref.registry());
    HttpResponse<byte[]> head = send(image, manifestRequest(uri, "HEAD", null), ref);
    String authorization = null;
    if (head.statusCode() == 401) {
      authorization = answerChallenge(image, ref, head, login);
      head = send(image, manifestRequest(uri, "HEAD", authorization), ref);
    }
    checkStatus(image, ref, head, login.isPresent());
    Optional<String> digest = head.headers().firstValue("Docker-Content-Digest").filter(d -> DIGEST.matcher(d).matches());
    if (digest.isPresent()) {
      return ref.pinned(digest.get());
    }
    HttpResponse<byte[]> get = send(image, manifestRequest(uri, "GET", authorization), ref);
    checkStatus(image, ref, get, login.isPresent());
    return ref.pinned("sha256:" + sha256(get.body()));
  }

  /** Splits a reference the way docker does: the first path part is a host when it has '.', ':' or is localhost. */
  public static Reference parse(String image) throws ResolveException {
    if (image == null || image.isBlank()) {
      throw new ResolveException(ResolveException.Kind.InvalidReference, "spec.source.image is empty");
    }
    String rest = image;
    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.substring(at + 1);
      rest = rest.substring(0, at);
      if (!DIGEST.matcher(digest).matches()) {
        throw new ResolveException(ResolveException.Kind.InvalidReference,
            "image " + image + ": digest must be sha256: and 64 lowercase hex digits");
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
    }
    if (tag == null && digest == null) {
      tag = "latest";
    }
    if (rest.isEmpty() || (tag != null && tag.isEmpty())) {
      throw new ResolveException(ResolveException.Kind.InvalidReference, "image " + image + " has an empty repository or tag");
    }
    if (registry.equals(DOCKER_HUB) && !rest.contains("/")) {
      rest = "library/" + rest;
    }
    return new Reference(registry, rest, tag, digest);
  }

  private URI baseUri(String registry) {
    String host = registry.equals(DOCKER_HUB) ? DOCKER_HUB_API : registry;
    String bare = registry.toLowerCase(Locale.ROOT);
    boolean plain = plainHttpRegistries.contains(bare) || bare.startsWith("localhost") || bare.startsWith("127.0.0.1");
    return URI.create((plain ? "http://" : "https://") + host + "/");
  }

  private HttpRequest manifestRequest(URI uri, String method, String authorization) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", ACCEPT)
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return b.build();
  }

  private HttpResponse<byte[]> send(String image, HttpRequest request, Reference ref) throws ResolveException {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new ResolveException(ResolveException.Kind.RegistryUnreachable,
          "image " + image + ": registry " + ref.registry() + " is unreachable (" + describe(e)
              + "); check the host name, port and network policy", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ResolveException(ResolveException.Kind.RegistryUnreachable, "image " + image + ": interrupted", e);
    }
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private void checkStatus(String image, Reference ref, HttpResponse<byte[]> r, boolean hadLogin) throws ResolveException {
    int code = r.statusCode();
    if (code == 200) {
      return;
    }
    if (code == 401 || code == 403) {
      throw new ResolveException(ResolveException.Kind.Unauthorized,
          "image " + image + ": registry " + ref.registry() + " refused access (HTTP " + code + "); "
              + (hadLogin ? "check the login in the pull secrets" : "add a pull secret with a login for " + ref.registry()));
    }
    if (code == 404) {
      throw new ResolveException(ResolveException.Kind.ManifestNotFound,
          "image " + image + ": no manifest " + ref.repository() + ":" + ref.tag() + " in " + ref.registry()
              + " (HTTP 404); check the repository and tag");
    }
    throw new ResolveException(ResolveException.Kind.RegistryError,
        "image " + image + ": registry " + ref.registry() + " answered HTTP " + code + " to a manifest request");
  }

  /** Answers a 401 challenge: Basic with the login, or Bearer with a token fetched from the realm. */
  private String answerChallenge(String image, Reference ref, HttpResponse<byte[]> r,
      Optional<RegistryCredentials.Login> login) throws ResolveException {
    String header = r.headers().firstValue("WWW-Authenticate").orElse("");
    String scheme = header.contains(" ") ? header.substring(0, header.indexOf(' ')) : header;
    Optional<String> basic = login.map(l -> "Basic " + Base64.getEncoder()
        .encodeToString((l.username() + ":" + l.password()).getBytes(StandardCharsets.UTF_8)));
    if (scheme.equalsIgnoreCase("Basic")) {
      if (basic.isEmpty()) {
        throw new ResolveException(ResolveException.Kind.Unauthorized,
            "image " + image + ": registry " + ref.registry() + " needs a login; add a pull secret for it");
      }
      return basic.get();
    }
    if (!scheme.equalsIgnoreCase("Bearer")) {
      throw new ResolveException(ResolveException.Kind.Unauthorized,
          "image " + image + ": registry " + ref.registry() + " asks for unsupported authentication '" + header + "'");
    }
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = CHALLENGE_PARAM.matcher(header);
    while (m.find()) {
      params.put(m.group(1).toLowerCase(Locale.ROOT), m.group(2));
    }
    String realm = params.get("realm");
    if (realm == null) {
      throw new ResolveException(ResolveException.Kind.RegistryError,
          "image " + image + ": registry " + ref.registry() + " sent a Bearer challenge without a realm");
    }
    StringBuilder q = new StringBuilder(realm).append(realm.contains("?") ? '&' : '?');
    if (params.containsKey("service")) {
      q.append("service=").append(URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8)).append('&');
    }
    String scope = params.getOrDefault("scope", "repository:" + ref.repository() + ":pull");
    q.append("scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    HttpRequest.Builder tokenRequest;
    try {
      tokenRequest = HttpRequest.newBuilder(URI.create(q.toString())).timeout(timeout).GET();
    } catch (IllegalArgumentException e) {
      throw new ResolveException(ResolveException.Kind.RegistryError,
          "image " + image + ": registry " + ref.registry() + " sent a bad token realm '" + realm + "'");
    }
    basic.ifPresent(b -> tokenRequest.header("Authorization", b));
    HttpResponse<byte[]> tr = send(image, tokenRequest.build(), ref);
    if (tr.statusCode() != 200) {
      throw new ResolveException(ResolveException.Kind.Unauthorized,
          "image " + image + ": token service " + realm + " answered HTTP " + tr.statusCode()
              + (login.isPresent() ? "; check the login in the pull secrets" : "; add a pull secret with a login"));
    }
    try {
      JsonNode body = json.readTree(tr.body());
      JsonNode token = body.hasNonNull("token") ? body.get("token") : body.get("access_token");
      if (token == null || token.asText().isEmpty()) {
        throw new ResolveException(ResolveException.Kind.RegistryError,
            "image " + image + ": token service " + realm + " returned no token");
      }
      return "Bearer " + token.asText();
    } catch (IOException e) {
      throw new ResolveException(ResolveException.Kind.RegistryError,
          "image " + image + ": token service " + realm + " returned something that is not JSON", e);
    }
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
