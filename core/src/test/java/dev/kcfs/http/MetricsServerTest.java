package dev.kcfs.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class MetricsServerTest {
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> send(MetricsServer server, String method, String path)
            throws Exception {
        HttpRequest request =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .method(method, HttpRequest.BodyPublishers.noBody())
                        .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesAFreshScrapeInThePrometheusTextFormat() throws Exception {
        AtomicInteger scrapes = new AtomicInteger();
        try (MetricsServer server =
                MetricsServer.start(
                        new InetSocketAddress("127.0.0.1", 0),
                        () -> "kcfs_test_total " + scrapes.incrementAndGet() + "\n",
                        Optional::empty)) {
            HttpResponse<String> first = send(server, "GET", "/metrics");
            HttpResponse<String> second = send(server, "GET", "/metrics");
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("Content-Type"))
                    .hasValue(MetricsServer.PROMETHEUS_TEXT);
            assertThat(first.body()).isEqualTo("kcfs_test_total 1\n");
            assertThat(second.body()).as("made on each request").isEqualTo("kcfs_test_total 2\n");
        }
    }

    @Test
    void healthSaysOkAndThenWhatIsWrong() throws Exception {
        AtomicReference<Optional<String>> problem = new AtomicReference<>(Optional.empty());
        try (MetricsServer server =
                MetricsServer.start(
                        new InetSocketAddress("127.0.0.1", 0), () -> "", problem::get)) {
            HttpResponse<String> ok = send(server, "GET", "/healthz");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).isEqualTo("ok\n");

            problem.set(Optional.of("store /var/lib/kcfs is not writable"));
            HttpResponse<String> broken = send(server, "GET", "/healthz");
            assertThat(broken.statusCode()).isEqualTo(503);
            assertThat(broken.body()).isEqualTo("store /var/lib/kcfs is not writable\n");
        }
    }

    @Test
    void onlyReadsAreAnswered() throws Exception {
        try (MetricsServer server =
                MetricsServer.start(
                        new InetSocketAddress("127.0.0.1", 0), () -> "x 1\n", Optional::empty)) {
            HttpResponse<String> post = send(server, "POST", "/metrics");
            assertThat(post.statusCode()).isEqualTo(405);
            assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
            assertThat(send(server, "DELETE", "/healthz").statusCode()).isEqualTo(405);

            HttpResponse<String> head = send(server, "HEAD", "/metrics");
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.body()).isEmpty();
            assertThat(send(server, "GET", "/nothing").statusCode()).isEqualTo(404);
        }
    }

    @Test
    void closingFreesThePort() throws Exception {
        MetricsServer server =
                MetricsServer.start(
                        new InetSocketAddress("127.0.0.1", 0), () -> "", Optional::empty);
        int port = server.port();
        server.close();
        try (MetricsServer again =
                MetricsServer.start(
                        new InetSocketAddress("127.0.0.1", port), () -> "", Optional::empty)) {
            assertThat(again.port()).isEqualTo(port);
        }
    }
}
