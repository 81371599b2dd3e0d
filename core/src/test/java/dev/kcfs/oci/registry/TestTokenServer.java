package dev.kcfs.oci.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Docker token server (the "realm" of a Bearer challenge) run inside the test, signing RS256 JWTs
 * that the real registry verifies against our self-signed certificate (made with the JDK's keytool,
 * sent in the {@code x5c} header). Grants the requested actions to the one configured user and
 * nothing to anonymous callers.
 */
public final class TestTokenServer implements AutoCloseable {
    public static final String ISSUER = "kcfs-test-issuer";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final PrivateKey key;
    private final byte[] certDer;
    private final Path certPem;
    private final String user;
    private final String password;
    private final String service;

    /** Every request as "user-or-anonymous scope", for assertions. */
    public final List<String> requests = new CopyOnWriteArrayList<>();

    private TestTokenServer(
            HttpServer server,
            PrivateKey key,
            byte[] certDer,
            Path certPem,
            String user,
            String password,
            String service) {
        this.server = server;
        this.key = key;
        this.certDer = certDer;
        this.certPem = certPem;
        this.user = user;
        this.password = password;
        this.service = service;
    }

    static TestTokenServer start(Path dir, String user, String password, String service)
            throws Exception {
        Path ks = dir.resolve("token.p12");
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "keytool")
                                        .toString(),
                                "-genkeypair",
                                "-alias",
                                "token",
                                "-keyalg",
                                "RSA",
                                "-keysize",
                                "2048",
                                "-dname",
                                "CN=kcfs-test-token",
                                "-validity",
                                "2",
                                "-storetype",
                                "PKCS12",
                                "-keystore",
                                ks.toString(),
                                "-storepass",
                                "changeit",
                                "-keypass",
                                "changeit")
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool failed: " + out);
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(ks.toFile())) {
            store.load(in, "changeit".toCharArray());
        }
        PrivateKey key = (PrivateKey) store.getKey("token", "changeit".toCharArray());
        Certificate cert = store.getCertificate("token");
        Path pem = dir.resolve("token.pem");
        Files.writeString(
                pem,
                "-----BEGIN CERTIFICATE-----\n"
                        + Base64.getMimeEncoder(64, "\n".getBytes())
                                .encodeToString(cert.getEncoded())
                        + "\n-----END CERTIFICATE-----\n");
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        TestTokenServer t =
                new TestTokenServer(server, key, cert.getEncoded(), pem, user, password, service);
        server.createContext("/token", t::handle);
        server.start();
        return t;
    }

    public String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    public Path certificatePem() {
        return certPem;
    }

    private void handle(HttpExchange ex) throws IOException {
        Map<String, String> q = new HashMap<>();
        String query = ex.getRequestURI().getRawQuery();
        if (query != null) {
            for (String kv : query.split("&")) {
                int eq = kv.indexOf('=');
                q.put(
                        URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String expected =
                "Basic "
                        + Base64.getEncoder()
                                .encodeToString(
                                        (user + ":" + password).getBytes(StandardCharsets.UTF_8));
        boolean known = expected.equals(auth);
        requests.add(
                (known ? user : auth == null ? "anonymous" : "bad-credentials")
                        + " "
                        + q.get("scope"));
        if (auth != null && !known) {
            ex.sendResponseHeaders(401, -1);
            ex.close();
            return;
        }
        List<String> actions = new ArrayList<>();
        String repo = null;
        String scope = q.get("scope");
        if (known && scope != null && scope.startsWith("repository:")) {
            String[] parts = scope.split(":");
            repo = parts[1];
            actions.addAll(List.of(parts[2].split(",")));
        }
        byte[] body =
                JSON.writeValueAsBytes(Map.of("token", mint(repo, actions), "expires_in", 300));
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    /** A signed token granting {@code actions} on {@code repository} (none if null). */
    public String mint(String repository, List<String> actions) {
        try {
            ObjectNode header = JSON.createObjectNode().put("alg", "RS256").put("typ", "JWT");
            header.putArray("x5c").add(Base64.getEncoder().encodeToString(certDer));
            long now = Instant.now().getEpochSecond();
            ObjectNode claims =
                    JSON.createObjectNode()
                            .put("iss", ISSUER)
                            .put("sub", user)
                            .put("aud", service)
                            .put("exp", now + 300)
                            .put("nbf", now - 10)
                            .put("iat", now)
                            .put("jti", UUID.randomUUID().toString());
            ArrayNode access = claims.putArray("access");
            if (repository != null) {
                ObjectNode a = access.addObject().put("type", "repository").put("name", repository);
                ArrayNode acts = a.putArray("actions");
                actions.forEach(acts::add);
            }
            Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
            String signingInput =
                    b64.encodeToString(JSON.writeValueAsBytes(header))
                            + "."
                            + b64.encodeToString(JSON.writeValueAsBytes(claims));
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initSign(key);
            s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + b64.encodeToString(s.sign());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
