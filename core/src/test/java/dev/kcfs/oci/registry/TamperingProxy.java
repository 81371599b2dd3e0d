package dev.kcfs.oci.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A man in the middle between the client and the real registry: forwards GETs and, depending on
 * {@link #mode}, fails, corrupts, truncates, inflates or holds back what the registry answers. It
 * stands for the broken networks, proxies, slow and hostile mirrors the client must survive or reject.
 */
public final class TamperingProxy implements AutoCloseable {
    public enum Mode {
        FORWARD,
        FAIL_FIRST_TWO,
        CORRUPT_BLOBS,
        TRUNCATE_BLOBS,
        TRUNCATE_FIRST_BLOB,
        STALL_FIRST_BLOB,
        REDIRECT_BLOBS,
        HUGE_MANIFEST,
        HUGE_MANIFEST_UNANNOUNCED,
        NO_DIGEST_HEADER,
        IGNORE_RANGE,
        SHIFT_RANGE,
        /**
         * A slow registry, so a build can be caught in the middle: half of every blob over 64 KiB is
         * sent, then the rest is held until {@link #release} (which also turns the gate off).
         */
        GATE_LARGE_BLOBS
    }

    private static final int LARGE = 64 * 1024;

    public volatile Mode mode = Mode.FORWARD;

    /** Counted down when {@link Mode#GATE_LARGE_BLOBS} holds back a blob. */
    public final java.util.concurrent.CountDownLatch stalled =
            new java.util.concurrent.CountDownLatch(1);

    private final java.util.concurrent.CountDownLatch release =
            new java.util.concurrent.CountDownLatch(1);
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger truncated = new AtomicInteger();
    final java.util.List<String> ranges = new java.util.concurrent.CopyOnWriteArrayList<>();
    final java.util.List<String> methods = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final String upstream;
    private final HttpClient http =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public TamperingProxy(String upstream, Mode mode) throws IOException {
        this(upstream);
        this.mode = mode;
    }

    TamperingProxy(String upstream) throws IOException {
        this.upstream = upstream;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(
                java.util.concurrent.Executors.newCachedThreadPool(
                        r -> {
                            Thread t = new Thread(r, "tampering-proxy");
                            t.setDaemon(true);
                            return t;
                        }));
        server.start();
    }

    public String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    /** Sends what {@link Mode#GATE_LARGE_BLOBS} holds back, and forwards everything from now on. */
    public void release() {
        mode = Mode.FORWARD;
        release.countDown();
    }

    private void handle(HttpExchange ex) throws IOException {
        int n = requests.incrementAndGet();
        methods.add(ex.getRequestMethod());
        try {
            String path = ex.getRequestURI().toString();
            if (mode == Mode.FAIL_FIRST_TWO && n <= 2) {
                ex.sendResponseHeaders(n == 1 ? 503 : 502, -1);
                return;
            }
            if ((mode == Mode.HUGE_MANIFEST || mode == Mode.HUGE_MANIFEST_UNANNOUNCED)
                    && path.contains("/manifests/")) {
                byte[] huge = new byte[5 << 20];
                java.util.Arrays.fill(huge, (byte) ' ');
                huge[0] = '{';
                huge[huge.length - 1] = '}';
                ex.getResponseHeaders()
                        .add("Content-Type", "application/vnd.oci.image.manifest.v1+json");
                ex.sendResponseHeaders(200, mode == Mode.HUGE_MANIFEST ? huge.length : 0);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(huge);
                }
                return;
            }
            if (mode == Mode.REDIRECT_BLOBS && path.contains("/blobs/sha256:")) {
                // like a registry sending blobs to a CDN: another host (here the real registry's
                // port)
                ex.getResponseHeaders().add("Location", "http://" + upstream + path);
                ex.sendResponseHeaders(307, -1);
                return;
            }
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(URI.create("http://" + upstream + path))
                            .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.noBody());
            String range = ex.getRequestHeaders().getFirst("Range");
            if (range != null) {
                ranges.add(range);
            }
            for (String h : List.of("Accept", "Authorization", "Range")) {
                String v = ex.getRequestHeaders().getFirst(h);
                if (h.equals("Range") && v != null && mode == Mode.IGNORE_RANGE) {
                    continue; // a server without Range support: the whole blob, 200
                }
                if (h.equals("Range")
                        && v != null
                        && mode == Mode.SHIFT_RANGE
                        && v.matches("bytes=\\d+-\\d+")) {
                    long[] r =
                            java.util.Arrays.stream(v.substring(6).split("-"))
                                    .mapToLong(Long::parseLong)
                                    .toArray();
                    v =
                            "bytes="
                                    + (r[0] + 1)
                                    + "-"
                                    + (r[1] + 1); // another range than asked (the Content-Range
                    // says so)
                }
                if (v != null) {
                    b.header(h, v);
                }
            }
            HttpResponse<byte[]> r;
            try {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            byte[] body = r.body();
            List<String> copied =
                    mode == Mode.NO_DIGEST_HEADER
                            ? List.of(
                                    "Content-Type", "WWW-Authenticate", "Location", "Content-Range")
                            : List.of(
                                    "Content-Type",
                                    "Docker-Content-Digest",
                                    "WWW-Authenticate",
                                    "Location",
                                    "Content-Range");
            for (String h : copied) {
                r.headers().firstValue(h).ifPresent(v -> ex.getResponseHeaders().add(h, v));
            }
            boolean blob = path.contains("/blobs/sha256:") && r.statusCode() == 200;
            if (blob
                    && mode == Mode.STALL_FIRST_BLOB
                    && body.length > 100_000
                    && truncated.getAndIncrement() == 0) {
                ex.sendResponseHeaders(200, body.length);
                OutputStream o = ex.getResponseBody();
                o.write(body, 0, body.length / 3);
                o.flush();
                try {
                    Thread.sleep(30_000); // a server that goes silent mid-body
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("stalled on purpose");
            }
            if (blob
                    && mode == Mode.TRUNCATE_FIRST_BLOB
                    && body.length > 100_000
                    && truncated.getAndIncrement() == 0) {
                ex.sendResponseHeaders(200, body.length);
                OutputStream o = ex.getResponseBody();
                o.write(body, 0, body.length / 3);
                o.flush();
                throw new IOException("dropping the connection on purpose");
            }
            if (blob && mode == Mode.GATE_LARGE_BLOBS && body.length > LARGE) {
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(body, 0, body.length / 2);
                    o.flush();
                    stalled.countDown();
                    release.await(2, java.util.concurrent.TimeUnit.MINUTES);
                    o.write(body, body.length / 2, body.length - body.length / 2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IOException e) {
                    // the client went away (an agent that was closed mid-download)
                }
                return;
            }
            if (blob && mode == Mode.CORRUPT_BLOBS) {
                body[body.length / 2] ^= 0x01;
            }
            if (blob && mode == Mode.TRUNCATE_BLOBS) {
                ex.sendResponseHeaders(200, body.length);
                OutputStream o = ex.getResponseBody();
                o.write(body, 0, body.length / 2);
                o.flush();
                ex.getHttpContext()
                        .getServer(); // keep the reference; then drop the connection mid-body
                throw new IOException("truncating on purpose");
            }
            ex.sendResponseHeaders(r.statusCode(), body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(body);
                }
            }
        } finally {
            ex.close();
        }
    }

    @Override
    public void close() {
        release.countDown();
        server.stop(0);
    }
}
