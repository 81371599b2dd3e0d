package dev.kcfs.csi;

import static dev.kcfs.csi.KubeletRequests.publish;
import static dev.kcfs.csi.KubeletRequests.unpublish;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.mount.MountTable;
import dev.kcfs.verity.Digest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Many publishes of one image at once, retries of one publish, and a call that waits for a busy volume: one shared mount, one bind each, answers before kubelet gives up. */
@Tag("root")
class ConcurrentPublishTest extends CsiNodeTest {
    ConcurrentPublishTest() {
        super("tools", "python-3-12");
    }

    @Test
    void twentyConcurrentPublishesOfOneImageMakeOneSharedMount() throws Exception {
        int n = 20;
        List<Path> targets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            targets.add(node.target("pod-" + i));
        }
        runConcurrently(
                n,
                i ->
                        node.node()
                                .nodePublishVolume(
                                        publish("vol-" + i, targets.get(i), "tools").build()));

        Digest digest = TmpfsImages.digestOf("tools");
        Path shared = node.store.resolve("mounts").resolve(digest.hex());
        assertThat(images.mounts.get()).isEqualTo(1);
        assertThat(MountTable.read().count(shared)).isEqualTo(1);
        assertThat(node.plugin.volumes().sharedUsers(digest)).isEqualTo(n);
        for (Path t : targets) {
            assertThat(Files.readString(t.resolve("hello.txt")))
                    .isEqualTo(TmpfsImages.hello("tools"));
        }

        runConcurrently(
                n, i -> node.node().nodeUnpublishVolume(unpublish("vol-" + i, targets.get(i))));
        assertThat(MountTable.read().isMountPoint(shared)).isFalse();

        assertThat(node.plugin.volumes().sharedMountCount()).isZero();
        for (Path t : targets) {
            assertThat(MountTable.read().isMountPoint(t)).isFalse();
        }
    }

    @Test
    void twentyConcurrentRetriesOfOnePublishMountItOnce() throws Exception {
        Path target = node.target("pod-a");
        runConcurrently(
                20, i -> node.node().nodePublishVolume(publish("vol-a", target, "tools").build()));

        assertThat(MountTable.read().count(target)).isEqualTo(1);
        assertThat(images.mounts.get()).isEqualTo(1);
        assertThat(node.plugin.volumes().sharedUsers(TmpfsImages.digestOf("tools"))).isEqualTo(1);
    }

    @Test
    void aCallWaitingForABusyVolumeGivesUpBeforeKubeletsDeadline() throws Exception {
        Path target = node.target("pod-a");
        CountDownLatch mounting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        node.stop();
        node.mounter = images.gated(mounting, release);
        node.start();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<?> first =
                    pool.submit(
                            () ->
                                    node.node()
                                            .nodePublishVolume(
                                                    publish("vol-a", target, "tools").build()));
            assertThat(mounting.await(10, TimeUnit.SECONDS)).isTrue();

            long start = System.nanoTime();
            PublishTest.assertCode(
                    () ->
                            node.node()
                                    .withDeadlineAfter(2, TimeUnit.SECONDS)
                                    .nodePublishVolume(publish("vol-a", target, "tools").build()),
                    io.grpc.Status.Code.ABORTED,
                    "another operation on target");
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(tookMs).as("answered within the 2 s deadline").isLessThan(2000);

            release.countDown();
            first.get(30, TimeUnit.SECONDS);
            assertThat(Files.readString(target.resolve("hello.txt")))
                    .isEqualTo(TmpfsImages.hello("tools"));
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    interface IndexedCall {
        void run(int i) throws Exception;
    }

    /** Starts {@code n} calls at the same moment and fails if any of them fails. */
    static void runConcurrently(int n, IndexedCall call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Object>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                Callable<Object> task =
                        () -> {
                            go.await();
                            call.run(index);
                            return null;
                        };
                futures.add(pool.submit(task));
            }
            go.countDown();
            for (Future<Object> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
