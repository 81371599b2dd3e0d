package dev.kcfs.oci.registry;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Docker registry ({@code /usr/bin/docker-registry}, distribution 2.8) on 127.0.0.1 with a
 * free port and temporary storage, for one test class. Optionally with htpasswd Basic auth or with
 * token auth against a {@link TestTokenServer}. Register with {@code @RegisterExtension static}, or
 * {@link #startOrSkip()} it for one test (try-with-resources).
 */
public final class TestRegistry implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
    public static final String BINARY = "/usr/bin/docker-registry";

    private final String user;
    private final String password;
    private final boolean token;
    private Path dir;
    private Process process;
    private int port;
    private TestTokenServer tokenServer;

    private TestRegistry(String user, String password, boolean token) {
        this.user = user;
        this.password = password;
        this.token = token;
    }

    public static TestRegistry anonymous() {
        return new TestRegistry(null, null, false);
    }

    /** htpasswd (bcrypt) Basic auth with one user. */
    public static TestRegistry basicAuth(String user, String password) {
        return new TestRegistry(user, password, false);
    }

    /** Bearer token auth; the token server (run by the test) accepts this user. */
    public static TestRegistry tokenAuth(String user, String password) {
        return new TestRegistry(user, password, true);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Assumptions.assumeTrue(
                Files.isExecutable(Path.of(BINARY)),
                BINARY + " is not installed (Debian package docker-registry)");
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
    }

    /** Starts the registry for one test, which is skipped when docker-registry is not installed. */
    public TestRegistry startOrSkip() throws Exception {
        Assumptions.assumeTrue(
                Files.isExecutable(Path.of(BINARY)),
                BINARY + " is not installed (Debian package docker-registry)");
        start();
        return this;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        stop();
    }

    public void start() throws Exception {
        dir = Files.createTempDirectory("kcfs-registry");
        port = freePort();
        StringBuilder yml =
                new StringBuilder()
                        .append("version: 0.1\n")
                        .append("log:\n  level: error\n  accesslog:\n    disabled: true\n")
                        .append("storage:\n  filesystem:\n    rootdirectory: ")
                        .append(dir.resolve("storage"))
                        .append('\n')
                        .append("  delete:\n    enabled: true\n")
                        .append("http:\n  addr: 127.0.0.1:")
                        .append(port)
                        .append('\n');
        if (user != null && !token) {
            Path htpasswd = dir.resolve("htpasswd");
            Files.writeString(htpasswd, user + ":" + Bcrypt.hash(password) + "\n");
            yml.append("auth:\n  htpasswd:\n    realm: kcfs-test\n    path: ")
                    .append(htpasswd)
                    .append('\n');
        }
        if (token) {
            tokenServer = TestTokenServer.start(dir, user, password, "kcfs-test-registry");
            yml.append("auth:\n  token:\n    realm: ")
                    .append(tokenServer.realm())
                    .append('\n')
                    .append("    service: kcfs-test-registry\n")
                    .append("    issuer: ")
                    .append(TestTokenServer.ISSUER)
                    .append('\n')
                    .append("    rootcertbundle: ")
                    .append(tokenServer.certificatePem())
                    .append('\n');
        }
        Path config = dir.resolve("config.yml");
        Files.writeString(config, yml);
        process =
                new ProcessBuilder(BINARY, "serve", config.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("registry.log").toFile())
                        .start();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try {
                int s =
                        http.send(
                                        HttpRequest.newBuilder(
                                                        URI.create("http://" + address() + "/v2/"))
                                                .build(),
                                        HttpResponse.BodyHandlers.discarding())
                                .statusCode();
                if (s == 200 || s == 401) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "docker-registry did not start: "
                                + Files.readString(dir.resolve("registry.log")));
            }
            Thread.sleep(50);
        }
    }

    public void stop() throws IOException, InterruptedException {
        if (process != null) {
            process.destroy();
            process.waitFor();
        }
        if (tokenServer != null) {
            tokenServer.close();
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** host:port, the registry part of references. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /** A pusher that authenticates as the configured user (with push rights). */
    public RegistryPusher pusher() {
        String auth = null;
        if (user != null && !token) {
            auth =
                    "Basic "
                            + java.util.Base64.getEncoder()
                                    .encodeToString((user + ":" + password).getBytes());
        }
        return new RegistryPusher(address(), auth, tokenServer);
    }

    /** A docker config JSON with this registry's user, as a pull secret would hold it. */
    public byte[] dockerConfigJson() {
        String auth =
                java.util.Base64.getEncoder().encodeToString((user + ":" + password).getBytes());
        return ("{\"auths\":{\"" + address() + "\":{\"auth\":\"" + auth + "\"}}}").getBytes();
    }

    public TestTokenServer tokenServer() {
        return tokenServer;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
