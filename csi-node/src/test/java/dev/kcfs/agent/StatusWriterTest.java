package dev.kcfs.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.store.Store;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** When the node's report is written, on a clock the test moves: no sleeping, no timing ranges. */
class StatusWriterTest {
    private static final Duration INTERVAL = Duration.ofSeconds(30);
    private static final Instant T0 = Instant.parse("2025-01-01T12:00:00Z");

    @RegisterExtension final AgentFixture agents = new AgentFixture();
    AgentCluster cluster;
    ManualClock clock;
    StatusWriter writer;

    /** A clock that moves only when told. */
    static final class ManualClock extends Clock {
        private Instant now;

        ManualClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        cluster = agents.cluster();
        cluster.node("n1", Map.of());
        clock = new ManualClock(T0);
        writer =
                new StatusWriter(
                        agents.client(),
                        "n1",
                        Store.open(agents.tmp().resolve("store")),
                        INTERVAL,
                        clock);
    }

    private static List<NodeImage> tools(ImageState state, Instant lastUsed) {
        NodeImage i = new NodeImage("tools", state);
        if (lastUsed != null) {
            i.setLastUsed(lastUsed.toString());
        }
        return List.of(i);
    }

    @Test
    void aChangedStateIsWrittenAtOnceAndUsesAtMostOncePerInterval() {
        assertThat(writer.nothingWritten()).isTrue();
        assertThat(writer.report(tools(ImageState.Pending, null), null))
                .isEqualTo(new StatusWriter.Outcome(true, null));
        assertThat(cluster.composefsNode("n1").getMetadata().getOwnerReferences())
                .singleElement()
                .satisfies(o -> assertThat(o.getKind()).isEqualTo("Node"));
        // the same status is not sent again
        assertThat(writer.report(tools(ImageState.Pending, null), null))
                .isEqualTo(new StatusWriter.Outcome(false, null));

        // a new state goes out at once, even within the interval
        clock.advance(Duration.ofSeconds(1));
        assertThat(writer.report(tools(ImageState.Ready, clock.instant()), null).written())
                .isTrue();
        Instant lastWrite = clock.instant();

        // a use every second: held back until the interval has passed since the last write
        for (int s = 1; s < 30; s++) {
            clock.advance(Duration.ofSeconds(1));
            assertThat(writer.report(tools(ImageState.Ready, clock.instant()), null))
                    .isEqualTo(
                            new StatusWriter.Outcome(
                                    false,
                                    Duration.between(clock.instant(), lastWrite.plus(INTERVAL))));
        }
        clock.advance(Duration.ofSeconds(1));
        Instant latest = clock.instant();
        assertThat(writer.report(tools(ImageState.Ready, latest), T0).written()).isTrue();
        assertThat(writer.writes()).isEqualTo(3);
        ComposefsNode cn = cluster.composefsNode("n1");
        assertThat(cn.getStatus().getImages())
                .singleElement()
                .satisfies(i -> assertThat(i.getLastUsed()).isEqualTo(latest.toString()));
        assertThat(cn.getStatus().getLastGC()).isEqualTo(T0.toString());
        assertThat(cn.getStatus().getStore()).isNotNull();
    }

    @Test
    void theStoreIsWalkedAgainAtMostOnceASecondAfterItChanged() {
        assertThat(writer.report(tools(ImageState.Ready, null), null).written()).isTrue();
        writer.storeChanged();
        clock.advance(Duration.ofMillis(400));
        assertThat(writer.report(tools(ImageState.Ready, null), null).again())
                .isEqualTo(Duration.ofSeconds(1));
        clock.advance(Duration.ofMillis(600));
        // walked again: the next look is not a second away any more
        assertThat(writer.report(tools(ImageState.Ready, null), null).again())
                .isNotEqualTo(Duration.ofSeconds(1));
    }
}
