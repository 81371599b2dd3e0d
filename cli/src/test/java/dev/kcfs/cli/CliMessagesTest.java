package dev.kcfs.cli;

import static dev.kcfs.cli.CliRun.kcfs;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What a new user runs into: store paths, help, messages and counts. */
class CliMessagesTest {
    @TempDir Path dir;

    private Path source() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/d"));
        for (int i = 0; i < 6; i++) {
            Files.writeString(src.resolve("f" + i), "file " + i);
        }
        return src.getParent();
    }

    /** Only commands that add content create a store, and they say so; the others name the missing store. */
    @Test
    void readingCommandsNeedAnExistingStore() throws Exception {
        Path missing = dir.resolve("no-store");
        for (String[] args :
                List.of(
                        new String[] {"stats"},
                        new String[] {"refs"},
                        new String[] {"fsck"},
                        new String[] {"gc"},
                        new String[] {"gc", "--dry-run"},
                        new String[] {"refs", "rm", "x"})) {
            List<String> line = new ArrayList<>(List.of("store", "--store", missing.toString()));
            line.addAll(List.of(args));
            CliRun r = kcfs(line.toArray(String[]::new));
            assertThat(r.rc()).as("%s: %s", line, r).isEqualTo(1);
            assertThat(r.err())
                    .as("%s", line)
                    .isEqualTo(
                            "kcfs: no kcfs store at "
                                    + missing.toAbsolutePath()
                                    + "; pull or add an image to create one\n");
            assertThat(missing).as("%s created nothing", line).doesNotExist();
        }
        CliRun mount =
                kcfs(
                        "mount",
                        "--store",
                        missing.toString(),
                        "app",
                        dir.resolve("target").toString());
        assertThat(mount.err()).contains("no kcfs store at " + missing.toAbsolutePath());
        assertThat(missing).doesNotExist();
        // a failing add does not create it either
        CliRun badAdd =
                kcfs(
                        "store",
                        "--store",
                        missing.toString(),
                        "add",
                        dir.resolve("nothing-here").toString());
        assertThat(badAdd.rc()).isEqualTo(1);
        assertThat(badAdd.err()).contains("nothing-here: no such directory");
        assertThat(missing).doesNotExist();

        CliRun add = kcfs("store", "--store", missing.toString(), "add", source().toString());
        assertThat(add.rc()).as("%s", add).isZero();
        assertThat(add.err())
                .contains(
                        "kcfs store add: created a new kcfs store at " + missing.toAbsolutePath());
        CliRun again = kcfs("store", "--store", missing.toString(), "add", source().toString());
        assertThat(again.err()).doesNotContain("created");
    }

    /** {@code kcfs store add --help} and friends failed with a usage error. */
    @Test
    void everySubcommandHasHelp() {
        List<List<String>> paths = new ArrayList<>();
        collect(new CommandLine(new Kcfs(null, null, null, () -> false)), new ArrayList<>(), paths);
        assertThat(paths).hasSizeGreaterThan(8);
        for (List<String> path : paths) {
            List<String> line = new ArrayList<>(path);
            line.add("--help");
            CliRun r = kcfs(line.toArray(String[]::new));
            assertThat(r.rc()).as("kcfs %s: %s", line, r).isZero();
            assertThat(r.outText()).as("kcfs %s", line).contains("Usage: kcfs");
        }
    }

    private static void collect(CommandLine cl, List<String> path, List<List<String>> out) {
        out.add(path);
        for (CommandLine sub : cl.getSubcommands().values()) {
            List<String> p = new ArrayList<>(path);
            p.add(sub.getCommandName());
            collect(sub, p, out);
        }
    }

    @Test
    void usersSeeMessagesNotExceptionTexts() throws Exception {
        Path src = source();
        CliRun dump = kcfs("info", "dump", src.toString());
        assertThat(dump.rc()).isEqualTo(1);
        assertThat(dump.err())
                .isEqualTo(
                        "kcfs: '"
                                + src
                                + "' is a directory, not a composefs image (make one with kcfs mkcomposefs)\n");

        CliRun mount = kcfs("mount", "-o", "basedir=/x,frobnicate", "img", dir.toString());
        assertThat(mount.rc()).as("%s", mount).isEqualTo(2);
        assertThat(mount.err())
                .contains("-o basedir=/x,frobnicate: unknown mount option 'frobnicate'")
                .doesNotContain("java.lang")
                .doesNotContain("Exception");

        Path store = dir.resolve("store");
        CliRun longName =
                kcfs(
                        "store",
                        "--store",
                        store.toString(),
                        "add",
                        "--name",
                        "n".repeat(300),
                        src.toString());
        assertThat(longName.rc()).isEqualTo(1);
        assertThat(longName.err())
                .contains("--name: ref name of 300 characters is too long")
                .doesNotContain("errno");
        assertThat(store).as("checked before any work").doesNotExist();
        CliRun newline =
                kcfs("store", "--store", store.toString(), "add", "--name", "a\nb", src.toString());
        assertThat(newline.err()).contains("contains a control character");

        // a ref file with a newline in its name (an older kcfs could write one) is listed on one
        // line
        String digest =
                kcfs("store", "--store", store.toString(), "add", "--name", "ok", src.toString())
                        .outText()
                        .strip();
        Files.writeString(store.resolve("refs/evil%0Aname"), digest + "\n");
        assertThat(kcfs("store", "--store", store.toString(), "refs").outText())
                .isEqualTo("evil\\nname " + digest + "\nok " + digest + "\n");
    }

    @Test
    void countsAndWordsSayWhatHappened() throws Exception {
        Path store = dir.resolve("store");
        Path src = source();
        CliRun add = kcfs("store", "--store", store.toString(), "add", src.toString());
        // d and its 6 files: the image's 256 hidden whiteout stubs are not the user's entries
        assertThat(add.err()).contains(": 7 entries, 0 new objects");
        kcfs("store", "--store", store.toString(), "add", "--name", "kept", src.toString());
        CliRun dry = kcfs("store", "--store", store.toString(), "gc", "--dry-run");
        assertThat(dry.outText())
                .startsWith("0 images and 0 objects would be removed")
                .doesNotContain("objects removed");
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.writeString(other.resolve("x"), "only here".repeat(20));
        kcfs("store", "--store", store.toString(), "add", other.toString());
        assertThat(kcfs("store", "--store", store.toString(), "gc", "--dry-run").outText())
                .startsWith("1 images and 1 objects would be removed");
        assertThat(kcfs("store", "--store", store.toString(), "gc").outText())
                .startsWith("1 images and 1 objects removed");
    }

    /** Upstream's tools read the --digest-store directory too: no .kcfs-tmp (or its lock file) is left there. */
    @Test
    void digestStoreKeepsNoTemporaryDirectory() throws Exception {
        Path objects = dir.resolve("objects");
        Path big = Files.createDirectories(dir.resolve("big"));
        Files.write(big.resolve("body"), new byte[10_000]);
        CliRun r =
                kcfs(
                        "mkcomposefs",
                        "--digest-store=" + objects,
                        big.toString(),
                        dir.resolve("x.cfs").toString());
        assertThat(r.rc()).as("%s", r).isZero();
        try (Stream<Path> s = Files.list(objects)) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .allMatch(n -> n.matches("[0-9a-f]{2}"));
        }
    }

    @Test
    void versionIsTheProjectVersion() {
        CliRun v = kcfs("-V");
        assertThat(v.rc()).isZero();
        assertThat(v.outText())
                .matches("kcfs \\d+\\.\\d+\\.\\d+\\S*\\n")
                .doesNotContain("development");
    }
}
