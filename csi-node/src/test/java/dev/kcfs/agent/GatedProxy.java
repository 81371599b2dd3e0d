package dev.kcfs.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A registry in front of the real one that, while {@link #stalling}, sends half of every large blob and
 * then holds the rest until {@link #release}: a slow registry, so a build can be caught in the middle.
 */
final class GatedProxy implements AutoCloseable {
    private static final int LARGE = 64 * 1024;
    private static final List<String> REQUEST_HEADERS = List.of("Accept", "Authorization", "Range");
    private static final List<String> RESPONSE_HEADERS = List.of("Content-Type", "Docker-Content-Digest",
            "WWW-Authenticate", "Content-Range", "Accept-Ranges");

    volatile boolean stalling = true;
    final CountDownLatch stalled = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final HttpServer server;
    private final String upstream;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    GatedProxy(String upstream) throws IOException {
        this.upstream = upstream;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "gated-proxy");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    void release() {
        stalling = false;
        release.countDown();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://" + upstream + ex.getRequestURI()))
                    .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.noBody());
            for (String h : REQUEST_HEADERS) {
                String v = ex.getRequestHeaders().getFirst(h);
                if (v != null) {
                    req.header(h, v);
                }
            }
            HttpResponse<InputStream> r = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
            for (String h : RESPONSE_HEADERS) {
                r.headers().firstValue(h).ifPresent(v -> ex.getResponseHeaders().add(h, v));
            }
            long length = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            boolean head = ex.getRequestMethod().equals("HEAD");
            ex.sendResponseHeaders(r.statusCode(), head || length == 0 ? -1 : Math.max(length, 0));
            try (InputStream in = r.body(); OutputStream out = ex.getResponseBody()) {
                if (head) {
                    return;
                }
                boolean gate = stalling && ex.getRequestURI().getPath().contains("/blobs/") && length > LARGE;
                if (gate) {
                    out.write(in.readNBytes((int) (length / 2)));
                    out.flush();
                    stalled.countDown();
                    release.await(2, TimeUnit.MINUTES);
                }
                in.transferTo(out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away (an agent that was closed mid-download)
        }
    }

    @Override
    public void close() {
        release();
        server.stop(0);
    }
}
