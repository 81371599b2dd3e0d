package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsNode;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubeapitest.Utils;
import io.fabric8.kubeapitest.binary.OSInfo;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real kube-apiserver and etcd for one test class, through fabric8 kube-api-test in offline mode:
 * the binaries come from the directory named by {@code KCFS_KUBE_BINARIES} (or the system property
 * {@code kcfs.kube.binaries}), as {@code e2e/cluster/build.sh} prints it, and nothing is downloaded.
 * Without that directory the class is skipped. The server runs with RBAC, its default admission
 * plugins and the CRDs of {@code crds/}; the client it hands out is a cluster admin. After each test
 * every object a test may have made is deleted, so the tests of a class share the server.
 *
 * <p>Register as {@code @RegisterExtension static final RealApiServer API = new RealApiServer();}.
 */
public final class RealApiServer implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
    static final String BINARIES_ENV = "KCFS_KUBE_BINARIES";
    static final String BINARIES_PROPERTY = "kcfs.kube.binaries";

    /** Namespaces the tests write into; a real server without a controller manager never finishes deleting one. */
    private static final List<String> NAMESPACES = List.of("ci", "kcfs-system");

    private static final int STARTUP_TIMEOUT_MS = 120_000;

    private Path binaries;
    private Path dir;
    private KubeAPIServer server;
    private KubernetesClient client;
    private String version;

    /** A cluster admin (kube-api-test's client certificate is in system:masters). */
    public KubernetesClient client() {
        return client;
    }

    /**
     * A client that impersonates {@code user}, e.g. {@code system:serviceaccount:NS:NAME} (the server
     * adds a service account's groups): what RBAC grants that user, and nothing more. Close it.
     */
    public KubernetesClient clientAs(String user) {
        Config config = Config.fromKubeconfig(server.getKubeConfigYaml());
        config.setImpersonateUsername(user);
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /** The directory of KCFS_KUBE_BINARIES (e2e/cluster/build.sh also puts helm there). */
    public Path binaries() {
        return binaries;
    }

    /** The server's version, e.g. 1.34.4. */
    public String version() {
        return version;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        String configured = System.getProperty(BINARIES_PROPERTY, System.getenv(BINARIES_ENV));
        Assumptions.assumeTrue(
                configured != null && !configured.isBlank(),
                BINARIES_ENV
                        + " is not set: no kube-apiserver to test against (set it to the directory"
                        + " e2e/cluster/build.sh prints; .ci/run does)");
        binaries = Path.of(configured);
        for (String name : List.of("kube-apiserver", "etcd", "kubectl")) {
            Assumptions.assumeTrue(
                    Files.isExecutable(binaries.resolve(name)),
                    BINARIES_ENV
                            + "="
                            + configured
                            + " has no executable "
                            + name
                            + " (run e2e/cluster/build.sh)");
        }
        version = apiServerVersion(binaries.resolve("kube-apiserver"));

        // kube-api-test finds its binaries in <dir>/k8s/<version>-<os>-<arch>/ under these names.
        dir = Files.createTempDirectory("kcfs-kube-api-test");
        Path layout = dir.resolve("k8s").resolve(version + Utils.platformSuffix(new OSInfo()));
        Files.createDirectories(layout);
        for (String name : List.of("kube-apiserver", "etcd", "kubectl")) {
            Files.createSymbolicLink(layout.resolve(name), binaries.resolve(name).toAbsolutePath());
        }
        waitOutMidnight();
        server =
                new KubeAPIServer(
                        KubeAPIServerConfigBuilder.anAPIServerConfig()
                                .withTestDir(dir.toString())
                                .withApiServerVersion(version)
                                .withOfflineMode(true)
                                .withUpdateKubeConfig(false)
                                // Reachable from this machine only (etcd's listener is
                                // kube-api-test's choice).
                                .withApiServerFlag("--bind-address", "127.0.0.1")
                                .withStartupTimeout(STARTUP_TIMEOUT_MS)
                                .build());
        server.start();
        client =
                new KubernetesClientBuilder()
                        .withConfig(Config.fromKubeconfig(server.getKubeConfigYaml()))
                        .build();
        installCrds();
        for (String ns : NAMESPACES) {
            client.namespaces()
                    .resource(
                            new NamespaceBuilder()
                                    .withNewMetadata()
                                    .withName(ns)
                                    .endMetadata()
                                    .build())
                    .serverSideApply();
        }
    }

    /**
     * kube-api-test 7.5.2 computes its readiness deadline as a wall-clock {@link LocalTime}, which
     * wraps at local midnight: a server started less than the startup timeout before midnight gets a
     * deadline "earlier" than now and is reported as "did not start properly" on the first poll
     * (seen in CI at 23:58). Starting after midnight instead costs at most that timeout once a day.
     */
    private static void waitOutMidnight() throws InterruptedException {
        LocalTime now = LocalTime.now();
        long toMidnightMs = Duration.between(now, LocalTime.MAX).toMillis() + 1;
        // the margin covers etcd's start and the certificates, which come before the deadline is
        // taken
        long margin = 30_000;
        if (toMidnightMs < STARTUP_TIMEOUT_MS + margin) {
            System.err.printf(
                    "RealApiServer: waiting %d s for local midnight to pass (kube-api-test's"
                            + " readiness deadline wraps there)%n",
                    toMidnightMs / 1000 + 1);
            Thread.sleep(toMidnightMs + 1000);
        }
    }

    /** Creates crds/*.yml and waits until the server serves them. */
    private void installCrds() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("kcfs.crds.dir")))) {
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".yml"))
                            .sorted()
                            .collect(Collectors.toList())) {
                try (InputStream in = Files.newInputStream(f)) {
                    CustomResourceDefinition crd =
                            Serialization.unmarshal(in, CustomResourceDefinition.class);
                    client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
                    client.apiextensions()
                            .v1()
                            .customResourceDefinitions()
                            .withName(crd.getMetadata().getName())
                            .waitUntilCondition(
                                    c ->
                                            c != null
                                                    && c.getStatus() != null
                                                    && c.getStatus().getConditions() != null
                                                    && c.getStatus().getConditions().stream()
                                                            .anyMatch(
                                                                    x ->
                                                                            "Established"
                                                                                            .equals(
                                                                                                    x
                                                                                                            .getType())
                                                                                    && "True"
                                                                                            .equals(
                                                                                                    x
                                                                                                            .getStatus())),
                                    60,
                                    TimeUnit.SECONDS);
                }
            }
        }
    }

    private static String apiServerVersion(Path apiServer)
            throws IOException, InterruptedException {
        Process p =
                new ProcessBuilder(apiServer.toString(), "--version")
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        Matcher m = Pattern.compile("v(\\d+\\.\\d+\\.\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException(
                    apiServer + " --version printed '" + out + "', not 'Kubernetes vX.Y.Z'");
        }
        return m.group(1);
    }

    /**
     * Deletes what the tests make: images (finalizers dropped first; the operator is stopped by now),
     * node reports, Nodes, events, secrets and Leases.
     */
    @Override
    public void afterEach(ExtensionContext context) {
        if (client == null) {
            return;
        }
        for (ComposefsImage ci : client.resources(ComposefsImage.class).list().getItems()) {
            var res = client.resources(ComposefsImage.class).withName(ci.getMetadata().getName());
            if (ci.getMetadata().getFinalizers() != null
                    && !ci.getMetadata().getFinalizers().isEmpty()) {
                res.edit(
                        x -> {
                            x.getMetadata().setFinalizers(List.of());
                            return x;
                        });
            }
            res.withGracePeriod(0).delete();
        }
        client.resources(ComposefsNode.class).withGracePeriod(0).delete();
        client.nodes().withGracePeriod(0).delete();
        for (String ns :
                Stream.concat(Stream.of("default"), NAMESPACES.stream())
                        .collect(Collectors.toList())) {
            client.v1().events().inNamespace(ns).delete();
            client.secrets().inNamespace(ns).delete();
            client.leases().inNamespace(ns).delete();
        }
        assertThat(client.resources(ComposefsImage.class).list().getItems())
                .as("images left after cleanup")
                .isEmpty();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.stop();
        }
        if (dir != null) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p :
                        paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
