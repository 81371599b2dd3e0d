package dev.kcfs.verity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DigestTest {

    @Test
    void objectPathIsTwoHexDigitsSlashAndTheRest() {
        Random r = new Random(7);
        for (int i = 0; i < 100; i++) {
            byte[] b = new byte[32];
            r.nextBytes(b);
            Digest d = new Digest(b);
            String hex = d.hex();
            String path = hex.substring(0, 2) + "/" + hex.substring(2);
            assertThat(d.objectPath()).isEqualTo(path);
            assertThat(d.objectPathBytes()).isEqualTo(path.getBytes(StandardCharsets.US_ASCII));
            assertThat(Digest.fromObjectPath(path)).isEqualTo(d);
        }
    }

    @Test
    void parseNamesTheProblem() {
        assertThatThrownBy(() -> Digest.parse("abc"))
                .hasMessageContaining("64 hex digits, got 3 characters");
        assertThatThrownBy(() -> Digest.parse("g".repeat(64)))
                .hasMessageContaining("not a hex digit at position 0");
    }
}
