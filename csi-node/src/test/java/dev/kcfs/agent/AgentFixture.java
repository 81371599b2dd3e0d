package dev.kcfs.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What every agent test stands on, fresh for each test: a CRUD mock API server with the kcfs CRDs
 * ({@link #cluster}), a temporary directory, and the simulated nodes the test makes with
 * {@link #node}. After the test the nodes are closed (which detaches what they left mounted), then
 * the cluster and the API server, then the directory is deleted. Register it per test instance:
 * {@code @RegisterExtension final AgentFixture agents = new AgentFixture();}; it runs before the
 * class's own {@code @BeforeEach} methods.
 */
final class AgentFixture implements BeforeEachCallback, AfterEachCallback {
    private KubernetesMockServer api;
    private KubernetesClient client;
    private AgentCluster cluster;
    private Path tmp;
    private final List<TestNode> nodes = new ArrayList<>();

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        api =
                new KubernetesMockServer(
                        new Context(),
                        new MockWebServer(),
                        new HashMap<>(),
                        new KubernetesCrudDispatcher(),
                        false);
        api.init(InetAddress.getByName("127.0.0.1"), 0);
        client = api.createClient();
        cluster = new AgentCluster(client);
        tmp = Files.createTempDirectory("kcfs-agent-test");
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        try {
            for (TestNode n : nodes) {
                n.close();
            }
            nodes.clear();
            cluster.close();
        } finally {
            client.close();
            api.destroy();
            deleteTree(tmp);
        }
    }

    KubernetesClient client() {
        return client;
    }

    AgentCluster cluster() {
        return cluster;
    }

    /** This test's own directory, deleted after it. */
    Path tmp() {
        return tmp;
    }

    /** A node named {@code name} with the short test intervals ({@link TestNode#fast}), neither agent nor CSI started yet. */
    TestNode node(String name) throws Exception {
        return node(name, TestNode.fast(name));
    }

    /** A node with these settings under {@code tmp/name}, not started yet; closed after the test. */
    TestNode node(String name, NodeAgent.Settings settings) throws Exception {
        TestNode n = new TestNode(client, name, tmp.resolve(name), settings);
        nodes.add(n);
        return n;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
