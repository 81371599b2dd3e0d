package dev.kcfs.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.api.ComposefsImage;
import dev.kcfs.operator.registry.RegistryManifestResolver;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Scale benchmark (not a timed test; it only asserts the end state): N simulated node agents and M
 * images on the mock API server. Prints reconciles, API writes per image and per node, time to
 * all-Ready, heap. Run:
 *
 * <pre>
 * ./mvnw -q -B -pl api,operator test -Dtest=ScaleBenchmark -Dkcfs.bench=true \
 *     [-Dkcfs.bench.nodes=200 -Dkcfs.bench.images=50 -Dkcfs.bench.flushMillis=1000]
 * </pre>
 */
@EnabledIfSystemProperty(named = "kcfs.bench", matches = "true")
@EnableKubernetesMockClient(crud = true)
class ScaleBenchmark {
    KubernetesMockServer server;
    KubernetesClient client;

    @Test
    void nodesTimesImages() throws Exception {
        int nodes = Integer.getInteger("kcfs.bench.nodes", 200);
        int images = Integer.getInteger("kcfs.bench.images", 50);
        long flushMillis = Long.getLong("kcfs.bench.flushMillis", 1000);
        int zones = 4;
        new MockCluster(client).installCrds();
        for (int i = 0; i < nodes; i++) {
            client.nodes()
                    .resource(
                            new NodeBuilder()
                                    .withNewMetadata()
                                    .withName(String.format("node-%04d", i))
                                    .withLabels(
                                            Map.of(
                                                    "zone",
                                                    "z" + (i % zones),
                                                    "pool",
                                                    i % 2 == 0 ? "gpu" : "cpu"))
                                    .endMetadata()
                                    .build())
                    .create();
        }

        RequestCounter agentRequests = new RequestCounter();
        KubernetesClient agentClient =
                server.createClient(
                        b ->
                                b.withHttpClientBuilderConsumer(
                                        h -> h.addOrReplaceInterceptor("count", agentRequests)));
        RequestCounter operatorRequests = new RequestCounter();
        KubernetesClient operatorClient =
                server.createClient(
                        b ->
                                b.withHttpClientBuilderConsumer(
                                        h -> h.addOrReplaceInterceptor("count", operatorRequests)));

        try (SimulatedAgents agents = new SimulatedAgents(agentClient, 4, flushMillis, 2000)) {
            for (int i = 0; i < nodes; i++) {
                agents.add(
                        String.format("node-%04d", i),
                        Map.of("zone", "z" + (i % zones), "pool", i % 2 == 0 ? "gpu" : "cpu"));
            }
            agents.start();

            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            long heapBefore = usedHeapAfterGc(memory);
            PrometheusMeterRegistry registry =
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            OperatorMetrics metrics = new OperatorMetrics(registry);
            var reconciler =
                    new ComposefsImageReconciler(
                            new RegistryManifestResolver(
                                    Set.of(), Duration.ofSeconds(5), Duration.ofSeconds(5)),
                            ComposefsImageReconciler.Settings.defaults(),
                            metrics,
                            Clock.systemUTC(),
                            new ObjectMapper());
            Operator operator =
                    KcfsOperator.create(
                            operatorClient,
                            reconciler,
                            Optional.empty(),
                            false); // the mock has no SSA
            operator.start();
            try {
                long t0 = System.nanoTime();
                // A third of the images go everywhere, a third to one pool, a third to one zone.
                int expectedNodeImages = 0;
                for (int k = 0; k < images; k++) {
                    Map<String, String> selector =
                            k % 3 == 0
                                    ? Map.of()
                                    : k % 3 == 1
                                            ? Map.of("pool", "gpu")
                                            : Map.of("zone", "z" + (k % zones));
                    ComposefsImage ci =
                            MockCluster.newImage(
                                    String.format("img-%03d", k),
                                    String.format(
                                            "example.org/bench/img-%03d@sha256:%064x", k, k + 1),
                                    selector,
                                    null);
                    ci.getSpec()
                            .setNodeSelector(
                                    new LabelSelectorBuilder().withMatchLabels(selector).build());
                    client.resource(ci).create();
                    expectedNodeImages +=
                            k % 3 == 0
                                    ? nodes
                                    : k % 3 == 1
                                            ? (nodes + 1) / 2
                                            : (nodes + zones - 1 - (k % zones)) / zones;
                }
                try {
                    await().atMost(
                                    Duration.ofSeconds(
                                            Long.getLong("kcfs.bench.timeoutSeconds", 600)))
                            .pollInterval(Duration.ofMillis(200))
                            .until(
                                    () ->
                                            client
                                                    .resources(ComposefsImage.class)
                                                    .list()
                                                    .getItems()
                                                    .stream()
                                                    .allMatch(
                                                            ci ->
                                                                    ci.getStatus() != null
                                                                            && Conditions.isTrue(
                                                                                    ci.getStatus()
                                                                                            .getConditions(),
                                                                                    Conditions
                                                                                            .READY)));
                } catch (org.awaitility.core.ConditionTimeoutException e) {
                    System.out.println(
                            "not all Ready; first image: "
                                    + io.fabric8.kubernetes.client.utils.Serialization.asYaml(
                                            client.resources(ComposefsImage.class)
                                                    .list()
                                                    .getItems()
                                                    .get(0)));
                    System.out.println(
                            "first node report: "
                                    + io.fabric8.kubernetes.client.utils.Serialization.asYaml(
                                            client.resources(dev.kcfs.api.ComposefsNode.class)
                                                    .list()
                                                    .getItems()
                                                    .get(0)));
                    System.out.println("agent requests: " + agentRequests.snapshot());
                    throw e;
                }
                Duration allReady = Duration.ofNanos(System.nanoTime() - t0);
                long readyNodeImages =
                        client.resources(ComposefsImage.class).list().getItems().stream()
                                .mapToLong(ci -> ci.getStatus().getNodes().getReady())
                                .sum();
                assertThat(readyNodeImages).isEqualTo(expectedNodeImages);

                double reconciles = metrics.count("kcfs_operator_reconciles_total");
                long opWrites = operatorRequests.writes();
                long agentWrites = agentRequests.writes();
                var opSnapshot = operatorRequests.snapshot();
                long heapReady = usedHeapAfterGc(memory);
                Map<String, Long> eventsByReason = new java.util.TreeMap<>();
                client.v1()
                        .events()
                        .inNamespace("default")
                        .list()
                        .getItems()
                        .forEach(e -> eventsByReason.merge(e.getReason(), 1L, Long::sum));

                // Steady state: agents rewrite store stats (not image states) every flush for 10 s.
                for (int i = 0; i < 10; i++) {
                    agents.churnStats();
                    Thread.sleep(flushMillis);
                }
                Thread.sleep(2 * flushMillis);
                double churnReconciles =
                        metrics.count("kcfs_operator_reconciles_total") - reconciles;
                long churnOpWrites = operatorRequests.writes() - opWrites;
                long churnAgentWrites = agentRequests.writes() - agentWrites;

                // Deletion: every image goes, agents drop them, finalizers come off.
                long t1 = System.nanoTime();
                client.resources(ComposefsImage.class).delete();
                await().atMost(Duration.ofMinutes(10))
                        .pollInterval(Duration.ofMillis(200))
                        .until(
                                () ->
                                        client.resources(ComposefsImage.class)
                                                .list()
                                                .getItems()
                                                .isEmpty());
                Duration allDeleted = Duration.ofNanos(System.nanoTime() - t1);

                System.out.printf(
                        "%n=== kcfs operator scale benchmark: %d nodes x %d images (%d node-images), flush %d ms ===%n",
                        nodes, images, expectedNodeImages, flushMillis);
                System.out.printf(
                        "time to all-Ready            %.1f s%n", allReady.toMillis() / 1000.0);
                System.out.printf(
                        "operator reconciles          %.0f (%.1f per image)%n",
                        reconciles, reconciles / images);
                System.out.printf(
                        "operator API writes          %d (%.1f per image): %s%n",
                        opWrites, (double) opWrites / images, writesOnly(opSnapshot));
                System.out.printf("events by reason             %s%n", eventsByReason);
                System.out.printf(
                        "agent API writes             %d (%.1f per node)%n",
                        agentWrites, (double) agentWrites / nodes);
                System.out.printf(
                        "steady 10 s of stats churn   %.0f reconciles, %d operator writes, %d agent writes%n",
                        churnReconciles, churnOpWrites, churnAgentWrites);
                System.out.printf(
                        "time to delete all           %.1f s%n", allDeleted.toMillis() / 1000.0);
                System.out.printf(
                        "heap after GC                %.1f MiB before operator, %.1f MiB all Ready (whole JVM: mock API server + agents + operator)%n",
                        heapBefore / 1048576.0, heapReady / 1048576.0);
                System.out.printf(
                        "JVM                          %s, %d CPUs%n",
                        System.getProperty("java.version"),
                        Runtime.getRuntime().availableProcessors());
            } finally {
                operator.stop();
                operatorClient.close();
                agentClient.close();
            }
        }
    }

    private static Map<String, Long> writesOnly(Map<String, Long> all) {
        Map<String, Long> out = new java.util.TreeMap<>();
        all.forEach(
                (k, v) -> {
                    if (!k.startsWith("GET ")) {
                        out.put(k, v);
                    }
                });
        return out;
    }

    private static long usedHeapAfterGc(MemoryMXBean memory) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
