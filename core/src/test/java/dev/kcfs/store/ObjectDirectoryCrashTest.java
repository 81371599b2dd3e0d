package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.verity.Digest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 a writer at random points: no object ever has wrong content, tmp/ is cleaned on open. */
class ObjectDirectoryCrashTest {
    @TempDir
    Path dir;

    @Test
    void killedWriterNeverLeavesAWrongObject() throws Exception {
        Path objects = dir.resolve("objects");
        Path tmp = dir.resolve("tmp");
        String java = ProcessHandle.current().info().command().orElse("java");
        Random r = new Random(42);
        int committedBatches = 0;
        for (int round = 0; round < 20; round++) {
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CrashingWriter.class.getName(),
                    objects.toString(), tmp.toString(), dir.resolve("src").toString(), Integer.toString(round))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            List<String> lines = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
                    String l;
                    while ((l = in.readLine()) != null) {
                        synchronized (lines) {
                            lines.add(l);
                        }
                    }
                } catch (Exception e) {
                    // the pipe breaks when the child is killed
                }
            });
            reader.start();
            Thread.sleep(400 + r.nextInt(1200)); // JVM start-up is ~300 ms; kill somewhere in the batches
            p.destroyForcibly(); // SIGKILL
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join();
            assertThat(p.exitValue()).as("killed, not failed").isEqualTo(137);

            ObjectDirectory reopened = ObjectDirectory.open(objects, tmp);
            if (Files.isDirectory(objects)) {
                ObjectDirectoryTest.verifyAll(objects);
            }
            try (Stream<Path> s = Files.list(tmp)) {
                assertThat(s.filter(f -> !f.getFileName().toString().equals(Scratch.USERS_LOCK)).toList()).as("tmp after reopen").isEmpty();
            }
            synchronized (lines) {
                for (String l : lines) {
                    committedBatches++;
                    for (String hex : l.substring("committed".length()).trim().split(" ")) {
                        assertThat(reopened.contains(Digest.parse(hex))).as("committed object %s", hex).isTrue();
                    }
                }
            }
        }
        assertThat(committedBatches).as("the writer got through some batches before being killed").isPositive();
    }
}
