package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kcfs.linux.PathBytes;
import dev.kcfs.verity.Digest;
import dev.kcfs.verity.FsVerity;
import dev.kcfs.verity.KernelVerity;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ObjectDirectoryTest {
    @TempDir Path dir;

    private Path objects() {
        return dir.resolve("objects");
    }

    private Path tmp() {
        return dir.resolve("tmp");
    }

    private static byte[] content(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Every file under the object directory has the content its name says; returns how many. */
    static int verifyAll(Path objects) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(objects)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        for (Path f : files) {
            Digest named = Digest.fromObjectPath(objects.relativize(f).toString());
            assertThat(named).as("only objects under their names: %s", f).isNotNull();
            assertThat(FsVerity.digest(f)).as("content of %s", f).isEqualTo(named);
        }
        return files.size();
    }

    private static List<Path> tmpLeftovers(Path tmp) throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(p -> !p.getFileName().toString().equals(Scratch.USERS_LOCK)).toList();
        }
    }

    @ParameterizedTest(name = "fsync-each limit {0}")
    @ValueSource(ints = {0, 1000}) // 0: always syncfs; 1000: always fsync each file
    void addsFilesAndStreamsUnderTheirDigest(int fsyncEachLimit) throws Exception {
        ObjectDirectory od =
                ObjectDirectory.open(objects(), tmp(), new KernelVerity(), fsyncEachLimit);
        List<byte[]> bodies = new ArrayList<>();
        List<Digest> digests = new ArrayList<>();
        try (ObjectDirectory.Batch b = od.batch()) {
            for (int i = 0; i < 40; i++) {
                byte[] body = content(i, i * 997 + (i % 3 == 0 ? 4096 : 1));
                bodies.add(body);
                if (i % 2 == 0) {
                    Path src = dir.resolve("src" + i);
                    Files.write(src, body);
                    Digest d = FsVerity.digest(src);
                    assertThat(b.addFile(src, d)).isTrue();
                    digests.add(d);
                } else {
                    digests.add(b.addStream(new ByteArrayInputStream(body)));
                }
            }
            assertThat(od.contains(digests.get(0))).as("not visible before commit").isFalse();
            assertThat(b.commit()).isEqualTo(new ObjectDirectory.Committed(40, 0));
        }
        for (int i = 0; i < bodies.size(); i++) {
            assertThat(digests.get(i)).isEqualTo(FsVerity.digest(bodies.get(i)));
            assertThat(od.contains(digests.get(i))).isTrue();
            assertThat(od.path(digests.get(i)))
                    .isEqualTo(objects().resolve(digests.get(i).objectPath()));
            assertThat(Files.readAllBytes(od.path(digests.get(i)))).isEqualTo(bodies.get(i));
        }
        assertThat(verifyAll(objects())).isEqualTo(40);
        assertThat(tmpLeftovers(tmp())).isEmpty();
    }

    /**
     * Bodies a caller holds in memory (heap or direct, with a non-zero position) are stored
     * byte-exact and the caller's buffer is left as it was; sources named with bytes that are not
     * UTF-8 are copied exactly.
     */
    @Test
    void writesHeldBodiesAndCopiesSourcesWithAnyNameBytes() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        Path odd = PathBytes.pathOf(concat(PathBytes.of(dir), new byte[] {'/', 'n', (byte) 0xe9}));
        byte[] oddBody = content(20, 300_000);
        Files.write(odd, oddBody);
        assertThat(odd.toString()).contains("\uFFFD"); // NIO cannot show the name as text
        List<byte[]> bodies = new ArrayList<>();
        List<Digest> digests = new ArrayList<>();
        try (ObjectDirectory.Batch b = od.batch()) {
            Digest dOdd = FsVerity.digest(oddBody);
            assertThat(b.addFile(odd, dOdd, null)).isTrue();
            bodies.add(oddBody);
            digests.add(dOdd);
            for (int i = 0; i < 6; i++) {
                byte[] body = content(30 + i, 5000 + i);
                ByteBuffer buf =
                        i % 2 == 0
                                ? ByteBuffer.allocateDirect(body.length + 7)
                                : ByteBuffer.allocate(body.length + 7);
                buf.position(7).put(body).position(7); // the body is position..limit
                Digest d = FsVerity.digest(body);
                boolean added;
                if (i < 3) {
                    // from memory, or (a filesystem with reflinks) from the source
                    Path src = Files.write(dir.resolve("src-" + i), body);
                    added = b.addFile(src, d, buf);
                } else {
                    added = b.addBody(buf, d);
                }
                assertThat(added).isTrue();
                assertThat(buf.position()).as("not consumed").isEqualTo(7);
                bodies.add(body);
                digests.add(d);
            }
            b.commit();
        }
        for (int i = 0; i < bodies.size(); i++) {
            assertThat(Files.readAllBytes(od.path(digests.get(i)))).isEqualTo(bodies.get(i));
        }
        assertThat(verifyAll(objects())).isEqualTo(7);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void closeWithoutCommitLeavesNothing() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        Digest d;
        try (ObjectDirectory.Batch b = od.batch()) {
            d = b.addStream(new ByteArrayInputStream(content(1, 5000)));
            assertThat(b.size()).isEqualTo(1);
        }
        assertThat(od.contains(d)).isFalse();
        assertThat(verifyAll(objects())).isZero();
        assertThat(tmpLeftovers(tmp())).isEmpty();
    }

    @Test
    void existingObjectIsKeptNotRewritten() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        byte[] body = content(3, 70000);
        Digest d;
        try (ObjectDirectory.Batch b = od.batch()) {
            d = b.addStream(new ByteArrayInputStream(body));
            b.commit();
        }
        Object inode = Files.getAttribute(od.path(d), "unix:ino");
        Path src = dir.resolve("same");
        Files.write(src, body);
        try (ObjectDirectory.Batch b = od.batch()) {
            assertThat(b.addFile(src, d)).isFalse();
            assertThat(b.addStream(new ByteArrayInputStream(body))).isEqualTo(d);
            assertThat(b.size()).isZero();
            assertThat(b.commit()).isEqualTo(new ObjectDirectory.Committed(0, 2));
        }
        assertThat(Files.getAttribute(od.path(d), "unix:ino")).isEqualTo(inode);
    }

    @Test
    void twoBatchesWithTheSameContentKeepTheFirstCommitted() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        ObjectDirectory other = ObjectDirectory.open(objects(), tmp()); // as another process would
        byte[] body = content(4, 9000);
        try (ObjectDirectory.Batch a = od.batch();
                ObjectDirectory.Batch b = other.batch()) {
            Digest da = a.addStream(new ByteArrayInputStream(body));
            Digest db = b.addStream(new ByteArrayInputStream(body));
            assertThat(da).isEqualTo(db);
            assertThat(a.commit()).isEqualTo(new ObjectDirectory.Committed(1, 0));
            Object inode = Files.getAttribute(od.path(da), "unix:ino");
            assertThat(b.commit()).isEqualTo(new ObjectDirectory.Committed(0, 1));
            assertThat(Files.getAttribute(od.path(da), "unix:ino")).isEqualTo(inode);
        }
        assertThat(verifyAll(objects())).isEqualTo(1);
        assertThat(tmpLeftovers(tmp())).isEmpty();
    }

    @Test
    void concurrentBatchesAndWorkerThreadsWithOverlappingContent() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp(), new KernelVerity(), 4);
        int sources = 60;
        List<Path> files = new ArrayList<>();
        List<Digest> digests = new ArrayList<>();
        for (int i = 0; i < sources; i++) {
            Path f = dir.resolve("in" + i);
            Files.write(f, content(i % 25, 3000 + (i % 25) * 100)); // 25 distinct bodies
            files.add(f);
            digests.add(FsVerity.digest(f));
        }
        int batches = 4;
        int threadsPerBatch = 3;
        ExecutorService pool = Executors.newFixedThreadPool(batches * threadsPerBatch);
        CyclicBarrier start = new CyclicBarrier(batches * threadsPerBatch);
        try {
            List<ObjectDirectory.Batch> open = new ArrayList<>();
            for (int b = 0; b < batches; b++) {
                open.add(od.batch());
            }
            List<Future<?>> work = new ArrayList<>();
            for (int b = 0; b < batches; b++) {
                ObjectDirectory.Batch batch = open.get(b);
                for (int t = 0; t < threadsPerBatch; t++) {
                    int offset = t;
                    work.add(
                            pool.submit(
                                    () -> {
                                        start.await();
                                        for (int i = offset; i < sources; i += threadsPerBatch) {
                                            if (i % 2 == 0) {
                                                batch.addFile(files.get(i), digests.get(i));
                                            } else {
                                                try (var in = Files.newInputStream(files.get(i))) {
                                                    assertThat(batch.addStream(in))
                                                            .isEqualTo(digests.get(i));
                                                }
                                            }
                                        }
                                        return null;
                                    }));
                }
            }
            for (Future<?> f : work) {
                f.get();
            }
            List<Future<ObjectDirectory.Committed>> commits = new ArrayList<>();
            for (ObjectDirectory.Batch batch : open) {
                commits.add(
                        pool.submit(
                                () -> {
                                    try (batch) {
                                        return batch.commit();
                                    }
                                }));
            }
            int added = 0;
            for (Future<ObjectDirectory.Committed> c : commits) {
                added += c.get().added();
            }
            assertThat(added).as("each distinct body moved into place exactly once").isEqualTo(25);
        } finally {
            pool.shutdownNow();
        }
        assertThat(verifyAll(objects())).isEqualTo(25);
        for (Digest d : digests) {
            assertThat(od.contains(d)).isTrue();
        }
        assertThat(tmpLeftovers(tmp())).isEmpty();
    }

    @Test
    void batchIsSingleUse() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        try (ObjectDirectory.Batch b = od.batch()) {
            b.commit();
            assertThatThrownBy(() -> b.addStream(new ByteArrayInputStream(new byte[1])))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void missingSourceNamesIt() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        try (ObjectDirectory.Batch b = od.batch()) {
            Digest d = FsVerity.digest(new byte[] {1});
            assertThatThrownBy(() -> b.addFile(dir.resolve("nope"), d))
                    .isInstanceOf(StoreException.class)
                    .hasMessageContaining("nope");
            assertThat(b.size()).isZero();
        }
    }

    @Test
    void leftoversOfACrashedWriterAreRemovedOnOpenButNotThoseOfALiveOne() throws Exception {
        ObjectDirectory od = ObjectDirectory.open(objects(), tmp());
        Path stale = Files.createDirectories(tmp().resolve("objects-crashed")).resolve("o1");
        Files.write(stale, new byte[10]);
        try (ObjectDirectory.Batch live = od.batch()) {
            live.addStream(new ByteArrayInputStream(content(9, 100)));
            assertThat(ObjectDirectory.open(objects(), tmp()).cleanTemporaries())
                    .as("writer active: no cleaning")
                    .isEqualTo(-1);
            assertThat(stale).exists();
            assertThat(live.commit().added()).isEqualTo(1);
        }
        ObjectDirectory.open(objects(), tmp());
        assertThat(tmpLeftovers(tmp())).isEmpty();
        assertThat(verifyAll(objects())).isEqualTo(1);
    }

    @Test
    void temporaryAreaOnAnotherFilesystemIsRefused() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(
                Files.isDirectory(shm)
                        && !Files.getAttribute(shm, "unix:dev")
                                .equals(Files.getAttribute(dir, "unix:dev")),
                "skipped: needs /dev/shm on a filesystem other than the test directory's");
        Path otherTmp = Files.createTempDirectory(shm, "kcfs-test");
        try {
            assertThatThrownBy(() -> ObjectDirectory.open(objects(), otherTmp))
                    .isInstanceOf(StoreException.class)
                    .hasMessageContaining("different filesystems");
        } finally {
            Scratch.deleteTree(otherTmp);
        }
    }
}
