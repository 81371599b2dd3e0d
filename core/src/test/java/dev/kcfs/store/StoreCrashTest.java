package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.verity.Digest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 an importer at random points (20 times): after reopening, every object's and image's
 * content matches its name, tmp/ is clean, every ref is whole, and rerunning the import completes it.
 */
class StoreCrashTest {
    @TempDir Path dir;

    private Process start(Path root, String what) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        CrashingImporter.class.getName(),
                        root.toString(),
                        dir.resolve("src").toString(),
                        "7",
                        what)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    @Test
    void killedImportsNeverCorruptTheStoreAndCompleteWhenRerun() throws Exception {
        Path root = dir.resolve("store");
        Random r = new Random(42);
        int imported = 0;
        int killedMidway = 0;
        for (int round = 0; round < 20; round++) {
            Process p = start(root, "loop");
            List<String> lines = new ArrayList<>();
            Thread reader =
                    new Thread(
                            () -> {
                                try (BufferedReader in =
                                        new BufferedReader(
                                                new InputStreamReader(
                                                        p.getInputStream(),
                                                        StandardCharsets.US_ASCII))) {
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
            Thread.sleep(
                    500 + r.nextInt(1500)); // JVM start-up is ~300-500 ms; kill somewhere in the
            // imports
            p.destroyForcibly(); // SIGKILL
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join();
            assertThat(p.exitValue()).as("killed, not failed").isEqualTo(137);
            int done;
            synchronized (lines) {
                done = lines.size();
                imported += done;
            }

            Store store = Store.open(root);
            try (Stream<Path> s = Files.list(root.resolve("tmp"))) {
                assertThat(
                                s.filter(
                                                f ->
                                                        !f.getFileName()
                                                                .toString()
                                                                .equals(Scratch.USERS_LOCK))
                                        .toList())
                        .as("tmp after reopen")
                        .isEmpty();
            }
            ObjectDirectoryTest.verifyAll(root.resolve("objects"));
            Store.FsckReport fsck = store.fsck(true, 2);
            assertThat(fsck.quarantined()).as("no object or image with wrong content").isEmpty();
            for (Map.Entry<String, Digest> ref : store.refs().entrySet()) {
                assertThat(fsck.missingObjects())
                        .as("ref %s is whole", ref.getKey())
                        .doesNotContainKey(ref.getValue());
            }
            for (int n = 0; n < done; n++) {
                assertThat(store.ref("app-" + n)).as("app-%d reported imported", n).isPresent();
            }
            // rerun the import the kill interrupted: it completes
            if (store.ref("app-" + done).isEmpty()) {
                killedMidway++;
            }
            Process again = start(root, Integer.toString(done));
            String out =
                    new String(again.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(again.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(again.exitValue()).isZero();
            assertThat(out).contains("imported app-" + done);
            Digest img = store.ref("app-" + done).orElseThrow();
            for (Digest o : store.objectList(img).orElseThrow().digests()) {
                assertThat(store.objects().contains(o)).isTrue();
            }
            // and GC of everything leaves a consistent store for the next round
            for (String name : store.refs().keySet()) {
                store.removeRef(name);
            }
            assertThat(store.gc(false, Duration.ofSeconds(10)).ran()).isTrue();
            assertThat(store.stats().objects()).isZero();
        }
        assertThat(imported)
                .as("the importer got through some imports before being killed")
                .isPositive();
        assertThat(killedMidway).as("some kills hit an import in progress").isPositive();
    }
}
