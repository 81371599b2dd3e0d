package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NodeReportsTest {
    private static final String A = "a".repeat(64);
    private static final String B = "b".repeat(64);

    private static NodeReports.Report r(
            String node, boolean desired, ImageState state, String digest) {
        NodeImage i = state == null ? null : new NodeImage("img", state);
        if (i != null) {
            i.setDigest(digest);
            i.setFiles(7L);
        }
        return new NodeReports.Report(node, desired, i);
    }

    @Test
    void countsOnlyDesiredNodesButTakesDigestsFromAll() {
        var f =
                NodeReports.fold(
                        List.of(
                                r("n1", true, ImageState.Ready, A),
                                r("n2", true, ImageState.Building, null),
                                r("n3", true, null, null),
                                r("n4", false, ImageState.Ready, A)),
                        null);
        assertThat(f.desired()).isEqualTo(3);
        assertThat(f.ready()).isEqualTo(1);
        assertThat(f.failed()).isZero();
        assertThat(f.digest()).isEqualTo(A);
        assertThat(f.files()).isEqualTo(7L);
        assertThat(f.degradedReason()).isNull();
    }

    @Test
    void majorityDigestIsReadyAndMinorityFailed() {
        var f =
                NodeReports.fold(
                        List.of(
                                r("n1", true, ImageState.Ready, A),
                                r("n2", true, ImageState.Ready, B),
                                r("n3", true, ImageState.Ready, B)),
                        null);
        assertThat(f.ready()).isEqualTo(2);
        assertThat(f.failed()).isEqualTo(1);
        assertThat(f.digest()).isNull();
        assertThat(f.degradedReason()).isEqualTo("DigestDisagreement");
        assertThat(f.degradedMessage())
                .contains(A + " on 1 node (n1)")
                .contains(B + " on 2 nodes (n2, n3)");
    }

    @Test
    void expectedDigestDecidesWhatIsReady() {
        var f =
                NodeReports.fold(
                        List.of(
                                r("n1", true, ImageState.Ready, A),
                                r("n2", true, ImageState.Ready, A)),
                        B);
        assertThat(f.ready()).isZero();
        assertThat(f.failed()).isEqualTo(2);
        assertThat(f.digest()).isEqualTo(A);
        assertThat(f.degradedReason()).isEqualTo("DigestMismatch");
        assertThat(f.files()).as("no node built the expected image").isNull();
    }

    /** The verdict depends on the reports, not on the order the caches list them in. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 1234})
    void foldIsIndependentOfReportOrder(long seed) {
        System.out.println("seed " + seed);
        Random rnd = new Random(seed);
        List<NodeReports.Report> reports = new ArrayList<>();
        ImageState[] states = ImageState.values();
        for (int i = 0; i < 40; i++) {
            ImageState s = rnd.nextInt(5) == 0 ? null : states[rnd.nextInt(states.length)];
            reports.add(
                    r(
                            "n" + i,
                            rnd.nextBoolean(),
                            s,
                            s == ImageState.Ready ? (rnd.nextInt(3) == 0 ? B : A) : null));
        }
        var first = NodeReports.fold(reports, null);
        Collections.shuffle(reports, rnd);
        var second = NodeReports.fold(reports, null);
        assertThat(second.desired()).isEqualTo(first.desired());
        assertThat(second.ready()).isEqualTo(first.ready());
        assertThat(second.failed()).isEqualTo(first.failed());
        assertThat(second.degradedReason()).isEqualTo(first.degradedReason());
        assertThat(second.degradedMessage()).isEqualTo(first.degradedMessage());
        long desiredReady =
                reports.stream()
                        .filter(
                                x ->
                                        x.desired()
                                                && x.image() != null
                                                && x.image().getState() == ImageState.Ready)
                        .count();
        assertThat(first.ready() + first.failed()).isGreaterThanOrEqualTo((int) desiredReady);
    }
}
