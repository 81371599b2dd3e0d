package dev.kcfs.e2e;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The fabric8 mock API server in CRUD mode (objects, status subresources, watches, finalizers), served
 * over HTTPS on the loopback address so that other processes reach it through a kubeconfig file, as
 * they would reach a real API server.
 */
final class ApiServer implements AutoCloseable {
    /** The mock web server logs every request at INFO through java.util.logging; held so the level sticks. */
    private static final java.util.logging.Logger MOCK_LOG =
            java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    static {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    private final KubernetesMockServer server;
    final KubernetesClient client;
    final Path kubeconfig;

    private ApiServer(KubernetesMockServer server, Path kubeconfig) {
        this.server = server;
        this.client = server.createClient();
        this.kubeconfig = kubeconfig;
    }

    static ApiServer start(Path dir) throws IOException {
        KubernetesMockServer server =
                new KubernetesMockServer(
                        new Context(),
                        new MockWebServer(),
                        new HashMap<>(),
                        new KubernetesCrudDispatcher(),
                        true);
        server.init(InetAddress.getByName("127.0.0.1"), 0);
        // the mock serves a self-signed certificate: the clients skip verification, as for a kind
        // cluster's
        // API server reached without its CA. A token, because an API server without credentials is
        // unusual.
        Path kubeconfig = Files.createDirectories(dir).resolve("kubeconfig");
        Files.writeString(
                kubeconfig,
                String.join(
                        "\n",
                        "apiVersion: v1",
                        "kind: Config",
                        "current-context: e2e",
                        "clusters: [{name: e2e, cluster: {server: 'https://127.0.0.1:"
                                + server.getPort()
                                + "', insecure-skip-tls-verify: true}}]",
                        "users: [{name: kcfs, user: {token: e2e-token}}]",
                        "contexts: [{name: e2e, context: {cluster: e2e, user: kcfs, namespace: default}}]",
                        ""));
        return new ApiServer(server, kubeconfig);
    }

    String url() {
        return "https://127.0.0.1:" + server.getPort();
    }

    /** The CRDs from crds/, as an admin installs them; the CRUD mock learns scope and status subresources from them. */
    void installCrds(Path crds) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(crds)) {
            files =
                    s.filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml"))
                            .sorted()
                            .collect(Collectors.toList());
        }
        if (files.isEmpty()) {
            throw new IllegalStateException("no CRD files in " + crds);
        }
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                client.apiextensions()
                        .v1()
                        .customResourceDefinitions()
                        .resource(Serialization.unmarshal(in, CustomResourceDefinition.class))
                        .create();
            }
        }
    }

    /** A Node object, as kubelet registers it. */
    void node(String name, Map<String, String> labels) {
        client.nodes()
                .resource(
                        new NodeBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withLabels(labels)
                                .endMetadata()
                                .build())
                .create();
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
