package dev.kcfs.operator;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, a free port
 * and temporary storage, optionally behind htpasswd Basic auth. Images are pushed over the
 * distribution API with java.net.http.
 */
final class TestRegistry implements AutoCloseable {
  static final String BINARY = "/usr/bin/docker-registry";

  private final Process process;
  private final int port;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String authorization;

  private TestRegistry(Process process, int port, String authorization) {
    this.process = process;
    this.port = port;
    this.authorization = authorization;
  }

  /** Skips the calling test when docker-registry is not installed (apt package docker-registry). */
  static TestRegistry start(Path dir) throws Exception {
    return start(dir, null, null);
  }

  /** With user and password: the registry answers 401 Basic until they are given. */
  static TestRegistry start(Path dir, String user, String password) throws Exception {
    assumeTrue(Files.isExecutable(Path.of(BINARY)), "needs " + BINARY + " (apt install docker-registry)");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path storage = Files.createDirectories(dir.resolve("storage"));
    StringBuilder config = new StringBuilder()
        .append("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n")
        .append("storage:\n  filesystem:\n    rootdirectory: ").append(storage).append('\n')
        .append("http:\n  addr: 127.0.0.1:").append(port).append('\n');
    String authorization = null;
    if (user != null) {
      Path htpasswd = dir.resolve("htpasswd");
      Files.writeString(htpasswd, user + ":" + bcrypt(password) + "\n");
      config.append("auth:\n  htpasswd:\n    realm: kcfs-test\n    path: ").append(htpasswd).append('\n');
      authorization = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }
    Path configFile = dir.resolve("config.yml");
    Files.writeString(configFile, config);
    Process p = new ProcessBuilder(BINARY, "serve", configFile.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
    TestRegistry r = new TestRegistry(p, port, authorization);
    r.awaitUp(dir);
    return r;
  }

  /** htpasswd needs bcrypt, which the JDK lacks; Python's crypt module (libxcrypt) has it. */
  private static String bcrypt(String password) throws Exception {
    Process p = new ProcessBuilder("python3", "-W", "ignore", "-c",
        "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", password)
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assumeTrue(p.waitFor() == 0 && out.startsWith("$2"), "needs python3 with a bcrypt-capable crypt module: " + out);
    return out;
  }

  private void awaitUp(Path dir) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("docker-registry exited: " + Files.readString(dir.resolve("registry.log")));
      }
      try {
        int code = http.send(HttpRequest.newBuilder(uri("/v2/")).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        if (code == 200 || code == 401) {
          return;
        }
      } catch (IOException notYet) {
        // still starting
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("docker-registry did not answer on port " + port);
  }

  String host() {
    return "127.0.0.1:" + port;
  }

  private URI uri(String path) {
    return URI.create("http://" + host() + path);
  }

  /**
   * Pushes a one-layer OCI image (an empty tar layer and a config naming it) and tags it.
   *
   * @param salt makes the config, and so the manifest digest, differ between pushes
   * @return the manifest digest the registry reports ("sha256:...")
   */
  String push(String repository, String tag, String salt) throws Exception {
    byte[] layer = new byte[1024]; // an empty tar archive: two zero blocks
    String layerDigest = pushBlob(repository, layer);
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{\"salt\":\"" + salt + "\"}},"
        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + layerDigest + "\"]}}").getBytes(StandardCharsets.UTF_8);
    String configDigest = pushBlob(repository, config);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest
        + "\",\"size\":" + config.length + "},"
        + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" + layerDigest
        + "\",\"size\":" + layer.length + "}]}").getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> r = http.send(authorized(HttpRequest.newBuilder(uri("/v2/" + repository + "/manifests/" + tag)))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 201) {
      throw new IllegalStateException("manifest push: HTTP " + r.statusCode() + " " + r.body());
    }
    String digest = sha256(manifest);
    if (!digest.equals(r.headers().firstValue("Docker-Content-Digest").orElse(""))) {
      throw new IllegalStateException("registry reports a different manifest digest than " + digest);
    }
    return digest;
  }

  private String pushBlob(String repository, byte[] blob) throws Exception {
    HttpResponse<String> start = http.send(authorized(HttpRequest.newBuilder(uri("/v2/" + repository + "/blobs/uploads/")))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    if (start.statusCode() != 202) {
      throw new IllegalStateException("blob upload start: HTTP " + start.statusCode() + " " + start.body());
    }
    String location = start.headers().firstValue("Location").orElseThrow();
    URI target = uri("/").resolve(location);
    String digest = sha256(blob);
    String sep = target.getQuery() == null ? "?" : "&";
    HttpResponse<String> put = http.send(authorized(HttpRequest.newBuilder(URI.create(target + sep + "digest=" + digest)))
        .header("Content-Type", "application/octet-stream")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)).build(), HttpResponse.BodyHandlers.ofString());
    if (put.statusCode() != 201) {
      throw new IllegalStateException("blob upload: HTTP " + put.statusCode() + " " + put.body());
    }
    return digest;
  }

  private HttpRequest.Builder authorized(HttpRequest.Builder b) {
    b.timeout(Duration.ofSeconds(10));
    return authorization == null ? b : b.header("Authorization", authorization);
  }

  static String sha256(byte[] data) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
