package dev.kcfs.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kcfs.testing.Root;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A store on a full filesystem: reading commands still run, failing writes leave nothing behind. */
@Tag("root")
class StoreFullDiskTest {

    @Test
    void leasesHoldAndLeaveNoEmptyFilesOnAFullDisk(@TempDir Path dir) throws Exception {
        Root.assumeRoot();
        Path fs = Files.createDirectories(dir.resolve("fs"));
        run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", fs.toString());
        try {
            Store store = Store.open(fs.resolve("store"));
            fill(fs.resolve("filler"));
            // fsck records a lease: it used to fail here
            Store.FsckReport report = store.fsck(true, 1);
            assertThat(report.clean()).isTrue();
            try (Store.Lease lease = store.lease("import on a full disk")) {
                assertThat(leaseFiles(store)).as("no empty lease file").isZero();
                assertThatThrownBy(
                                () ->
                                        store.addImage(
                                                new java.io.ByteArrayInputStream(new byte[1 << 20]),
                                                ObjectList.of(java.util.Set.of(), 0)))
                        .isInstanceOf(StoreException.class);
            }
            assertThat(leaseFiles(store)).isZero();
        } finally {
            run("umount", fs.toString());
        }
    }

    /** The body workers' stage of an import: a body that does not fit ends the whole import. */
    @Test
    void importThatFillsTheDiskEndsPromptlyAndReleasesTheStore(@TempDir Path dir) throws Exception {
        Root.assumeRoot();
        dev.kcfs.oci.registry.TestImage image =
                new dev.kcfs.oci.registry.TestImage(
                        dev.kcfs.oci.Platform.current().architecture(),
                        java.util.List.of(
                                dev.kcfs.oci.registry.TestImage.Layer.gzip(
                                        new dev.kcfs.oci.tar.TarBuilder()
                                                .file(
                                                        "big",
                                                        dev.kcfs.oci.registry.Fixtures.random(
                                                                9, 3 << 20))
                                                .build())));
        image.writeLayout(dir.resolve("layout"), "t");
        Path fs = Files.createDirectories(dir.resolve("fs"));
        run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", fs.toString());
        try {
            Store store = Store.open(fs.resolve("store"));
            try (dev.kcfs.pull.Importer importer =
                            new dev.kcfs.pull.Importer(
                                    store,
                                    new dev.kcfs.oci.registry.RegistryClient(
                                            dev.kcfs.oci.registry.DockerConfig.empty()),
                                    new dev.kcfs.pull.layer.BodyPipeline(2, 1 << 20));
                    dev.kcfs.oci.ImageSource source =
                            new dev.kcfs.oci.layout.OciLayoutDirectory(
                                    dir.resolve("layout"), "t")) {
                org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                        java.time.Duration.ofSeconds(60),
                        () ->
                                assertThatThrownBy(
                                                () ->
                                                        importer.importImage(
                                                                source,
                                                                dev.kcfs.oci.Platform.current(),
                                                                "big",
                                                                null))
                                        .hasMessageContaining("No space left on device"));
            }
            assertThat(leaseFiles(store)).isZero();
            assertThat(store.gc(false, java.time.Duration.ofSeconds(2)).ran()).isTrue();
            assertThat(store.refs()).isEmpty();
            try (Stream<Path> tmp = Files.list(store.root().resolve("tmp"))) {
                assertThat(tmp.map(p -> p.getFileName().toString()))
                        .containsOnly(Scratch.USERS_LOCK);
            }
        } finally {
            run("umount", fs.toString());
        }
    }

    private static long leaseFiles(Store store) throws IOException {
        try (Stream<Path> s = Files.list(store.root().resolve("leases"))) {
            return s.count();
        }
    }

    /** Writes until the filesystem is full. */
    private static void fill(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            byte[] block = new byte[4096];
            while (true) {
                out.write(block);
                out.flush();
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw e;
            }
        }
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }
}
