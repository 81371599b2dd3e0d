package dev.kcfs.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The HTTP endpoint of the long-running kcfs processes (operator and node plugin), on the JDK's
 * built-in server because two read-only paths need no web framework:
 *
 * <ul>
 *   <li>{@code GET /metrics}: the Prometheus text exposition that {@code scrape} returns;
 *   <li>{@code GET /healthz}: 200 "ok", or 503 with the problem {@code health} names (kubelet's
 *       liveness probe and people with curl read the same text).
 * </ul>
 *
 * Other methods get 405. Requests are answered on two daemon threads, so a slow scrape does not hold
 * up a probe.
 */
public final class MetricsServer implements AutoCloseable {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer http;
    private final ExecutorService executor;

    private MetricsServer(HttpServer http, ExecutorService executor) {
        this.http = http;
        this.executor = executor;
    }

    /**
     * Listens on {@code address} (port 0 = any free port) until closed.
     *
     * @param scrape the metrics in the Prometheus text format, made on each request
     * @param health empty when healthy, else what is wrong
     */
    public static MetricsServer start(
            InetSocketAddress address, Supplier<String> scrape, Supplier<Optional<String>> health)
            throws IOException {
        HttpServer http = HttpServer.create(address, 16);
        http.createContext(
                "/metrics",
                exchange ->
                        answer(
                                exchange,
                                () -> {
                                    byte[] body = scrape.get().getBytes(StandardCharsets.UTF_8);
                                    return new Reply(200, PROMETHEUS_TEXT, body);
                                }));
        http.createContext(
                "/healthz",
                exchange ->
                        answer(
                                exchange,
                                () -> {
                                    Optional<String> problem = health.get();
                                    byte[] body =
                                            (problem.orElse("ok") + "\n")
                                                    .getBytes(StandardCharsets.UTF_8);
                                    return new Reply(
                                            problem.isEmpty() ? 200 : 503,
                                            "text/plain; charset=utf-8",
                                            body);
                                }));
        ExecutorService executor =
                Executors.newFixedThreadPool(
                        2,
                        r -> {
                            Thread t = new Thread(r, "kcfs-metrics-http");
                            t.setDaemon(true);
                            return t;
                        });
        http.setExecutor(executor);
        http.start();
        return new MetricsServer(http, executor);
    }

    private record Reply(int status, String contentType, byte[] body) {}

    private static void answer(HttpExchange exchange, Supplier<Reply> make) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!"GET".equals(method) && !"HEAD".equals(method)) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            Reply reply = make.get();
            exchange.getResponseHeaders().set("Content-Type", reply.contentType());
            if ("HEAD".equals(method)) {
                exchange.sendResponseHeaders(reply.status(), -1);
                return;
            }
            exchange.sendResponseHeaders(reply.status(), reply.body().length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(reply.body());
            }
        }
    }

    /** The port it listens on (the chosen one when started with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}
