package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordFileTest {
    @TempDir Path dir;

    @Test
    void replacesWholeAndLeavesNoTemporaryFile() throws Exception {
        Path record = dir.resolve("build.properties");
        RecordFile.replace(record, "first\n".getBytes(StandardCharsets.UTF_8));
        Properties p = new Properties();
        p.setProperty("digest", "abc");
        RecordFile.replace(record, p, "a record");

        Properties read = new Properties();
        try (InputStream in = Files.newInputStream(record)) {
            read.load(in);
        }
        assertThat(read).containsOnlyKeys("digest").containsEntry("digest", "abc");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(record);
        }
    }

    @Test
    void concurrentWritersEachLeaveAWholeRecord() throws Exception {
        Path record = dir.resolve("record");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> writes = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                byte[] content =
                        ("writer " + i + "\n").repeat(1000).getBytes(StandardCharsets.UTF_8);
                writes.add(
                        pool.submit(
                                () -> {
                                    RecordFile.replace(record, content);
                                    return null;
                                }));
            }
            for (Future<?> w : writes) {
                w.get();
            }
        } finally {
            pool.shutdown();
        }
        // one writer's content, whole: never a mix of two or a torn file
        List<String> lines = Files.readAllLines(record);
        assertThat(lines).hasSize(1000).containsOnly(lines.get(0));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(record);
        }
    }

    @Test
    void aMissingDirectoryIsAStoreErrorNamingTheRecord() {
        Path record = dir.resolve("gone/record");
        assertThatThrownBy(() -> RecordFile.replace(record, new byte[] {1}))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining(record.toString());
    }
}
