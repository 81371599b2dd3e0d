package dev.kcfs.oci.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class HandoffTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(20);

    @Test
    void streamsEverythingInOrder() throws Exception {
        byte[] data = new byte[3_000_001];
        new Random(7).nextBytes(data);
        String got =
                Handoff.run(
                        "t",
                        100_000,
                        out -> {
                            for (int off = 0; off < data.length; off += 7777) {
                                out.write(data, off, Math.min(7777, data.length - off));
                            }
                        },
                        HandoffTest::sha256);
        assertThat(got)
                .isEqualTo(
                        HexFormat.of()
                                .formatHex(MessageDigest.getInstance("SHA-256").digest(data)));
    }

    @Test
    void producerFailingBeforeItsFirstByteEndsTheConsumer() {
        assertTimeoutPreemptively(
                PROMPTLY,
                () ->
                        assertThatThrownBy(
                                        () ->
                                                Handoff.run(
                                                        "writer",
                                                        1 << 20,
                                                        out -> {
                                                            throw new IOException(
                                                                    "Invalid file name 'nnn'");
                                                        },
                                                        HandoffTest::sha256))
                                .isInstanceOf(IOException.class)
                                .hasMessage("Invalid file name 'nnn'"));
    }

    @Test
    void producerFailingMidStreamEndsTheConsumer() {
        assertTimeoutPreemptively(
                PROMPTLY,
                () ->
                        assertThatThrownBy(
                                        () ->
                                                Handoff.run(
                                                        "writer",
                                                        1 << 16,
                                                        out -> {
                                                            out.write(new byte[500_000]);
                                                            throw new IllegalStateException(
                                                                    "layout mismatch");
                                                        },
                                                        HandoffTest::sha256))
                                .isInstanceOf(IOException.class)
                                .hasMessage("writer failed: layout mismatch"));
    }

    @Test
    void producerRunningOutOfMemoryIsAnIOExceptionOfTheCaller() {
        assertTimeoutPreemptively(
                PROMPTLY,
                () ->
                        assertThatThrownBy(
                                        () ->
                                                Handoff.run(
                                                        "writer",
                                                        1 << 16,
                                                        out -> {
                                                            throw new OutOfMemoryError(
                                                                    "Java heap space");
                                                        },
                                                        HandoffTest::sha256))
                                .isInstanceOf(IOException.class)
                                .hasMessageContaining("writer ran out of memory"));
    }

    @Test
    void consumerFailingEndsTheProducer() {
        AtomicBoolean producerEnded = new AtomicBoolean();
        assertTimeoutPreemptively(
                PROMPTLY,
                () ->
                        assertThatThrownBy(
                                        () ->
                                                Handoff.run(
                                                        "writer",
                                                        1 << 16,
                                                        out -> {
                                                            try {
                                                                byte[] chunk = new byte[65536];
                                                                while (true) {
                                                                    out.write(chunk); // an endless
                                                                    // stream: only
                                                                    // the
                                                                    // consumer's
                                                                    // failure ends
                                                                    // it
                                                                }
                                                            } finally {
                                                                producerEnded.set(true);
                                                            }
                                                        },
                                                        in -> {
                                                            in.readNBytes(300_000);
                                                            throw new IOException(
                                                                    "No space left on device");
                                                        }))
                                .isInstanceOf(IOException.class)
                                .hasMessage("No space left on device"));
        assertThat(producerEnded).isTrue();
    }

    @Test
    void consumerStoppingEarlyIsAFailure() {
        assertTimeoutPreemptively(
                PROMPTLY,
                () ->
                        assertThatThrownBy(
                                        () ->
                                                Handoff.run(
                                                        "writer",
                                                        1 << 16,
                                                        out -> {
                                                            out.write(new byte[1_000_000]);
                                                        },
                                                        in -> in.readNBytes(10)))
                                .isInstanceOf(IOException.class)
                                .hasMessageContaining("the reading side stopped"));
    }

    @Test
    void consumerWrappingTheProducersErrorReportsTheProducers() {
        assertTimeoutPreemptively(
                PROMPTLY,
                () ->
                        assertThatThrownBy(
                                        () ->
                                                Handoff.run(
                                                        "writer",
                                                        1 << 16,
                                                        out -> {
                                                            out.write(new byte[100]);
                                                            throw new IOException(
                                                                    "Too many xattrs on /f");
                                                        },
                                                        in -> {
                                                            try {
                                                                return sha256(in);
                                                            } catch (IOException e) {
                                                                throw new IOException(
                                                                        "cannot write image to /tmp/x: "
                                                                                + e.getMessage(),
                                                                        e);
                                                            }
                                                        }))
                                .hasMessage("Too many xattrs on /f"));
    }

    private static String sha256(InputStream in) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
