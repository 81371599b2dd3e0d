package dev.kcfs.oci.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** HTTP or HTTPS, and how fast a registry that is not there, or not what was expected, is given up on. */
class RegistryTransportTest {
    @RegisterExtension static final TestRegistry registry = TestRegistry.anonymous();

    private static RegistryClient httpsClient() {
        // what a user gets without --plain-http: HTTPS, 5 attempts from 500 ms
        return new RegistryClient(DockerConfig.empty(), RegistryClient.Options.defaults());
    }

    @Test
    void loopbackRegistriesArePlainHttpWithoutBeingAsked() throws Exception {
        TestImage image =
                new TestImage(
                        Platform.current().architecture(),
                        List.of(TestImage.Layer.gzip(Fixtures.top())));
        String digest = image.push(registry.pusher(), "transport/loop", "v1");
        try (ImageSource s =
                httpsClient()
                        .open(ImageReference.parse(registry.address() + "/transport/loop:v1"))) {
            assertThat(s.resolve(Platform.current()).digest()).isEqualTo(digest);
        }
        RegistryClient.Options o = RegistryClient.Options.defaults();
        assertThat(o.isPlainHttp("127.0.0.1:5000")).isTrue();
        assertThat(o.isPlainHttp("localhost")).isTrue();
        assertThat(o.isPlainHttp("[::1]:5000")).isTrue();
        assertThat(o.isPlainHttp("127.0.0.53")).isTrue();
        assertThat(o.isPlainHttp("registry.example:5000")).isFalse();
        assertThat(o.isPlainHttp("192.0.2.7:5000")).isFalse();
        assertThat(
                        o.withPlainHttpRegistries(java.util.Set.of("registry.example"))
                                .isPlainHttp("registry.example:5000"))
                .isTrue();
    }

    @Test
    void connectionRefusedIsNotRetried() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        try (ImageSource s =
                httpsClient().open(ImageReference.parse("127.0.0.1:" + port + "/x/y:v1"))) {
            assertThatThrownBy(() -> s.resolve(Platform.current()))
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining("cannot connect to 127.0.0.1:" + port)
                    .hasMessageContaining("is the registry running");
        }
        // five attempts from 500 ms would take 7.5 s
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    /**
     * The plain-HTTP test registry reached by a host name that resolves to loopback: the client never
     * resolves names to choose the transport, so it tries HTTPS and meets plain HTTP.
     */
    @Test
    void tlsMeetingPlainHttpFailsAtOnceWithAHint() throws Exception {
        String name = InetAddress.getLocalHost().getHostName();
        assumeTrue(
                !name.equals("localhost") && InetAddress.getByName(name).isLoopbackAddress(),
                "this machine's host name does not resolve to a loopback address");
        String host = name + registry.address().substring(registry.address().lastIndexOf(':'));
        long start = System.nanoTime();
        try (ImageSource s = httpsClient().open(ImageReference.parse(host + "/x/y:v1"))) {
            assertThatThrownBy(() -> s.resolve(Platform.current()))
                    .isInstanceOf(OciException.class)
                    .hasMessageContaining(host + " answered the TLS handshake with plain HTTP")
                    .hasMessageContaining("--plain-http");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }
}
