package dev.kcfs.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.http.MetricsServer;
import dev.kcfs.operator.registry.RegistryManifestResolver;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kcfs-operator}: connects with the usual kubeconfig or in-cluster config and runs until stopped. */
@Command(
        name = "kcfs-operator",
        mixinStandardHelpOptions = true,
        description =
                "Reconciles ComposefsImages: pins tags to digests and folds node reports into their status.")
public final class OperatorMain implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--metrics-address",
            defaultValue = "0.0.0.0:8080",
            description = "host:port serving /metrics and /healthz (default ${DEFAULT-VALUE})")
    String metricsAddress;

    @Option(
            names = "--no-leader-election",
            description =
                    "reconcile without taking the Lease first (only for a single replica or local runs)")
    boolean noLeaderElection;

    @Option(
            names = "--lease-name",
            defaultValue = "kcfs-operator",
            description =
                    "name of the coordination.k8s.io Lease the replicas elect their leader with (default ${DEFAULT-VALUE})")
    String leaseName;

    @Option(
            names = "--lease-namespace",
            description =
                    "namespace of the Lease; default: the pod's namespace (POD_NAMESPACE) or the kubeconfig's")
    String leaseNamespace;

    @Option(
            names = "--event-namespace",
            defaultValue = "default",
            description =
                    "namespace for events about the cluster-scoped images; the API server accepts them only in 'default' (default ${DEFAULT-VALUE})")
    String eventNamespace;

    @Option(
            names = "--release-timeout",
            defaultValue = "PT10M",
            description =
                    "how long a deleted image waits for nodes to release it, ISO-8601 (default ${DEFAULT-VALUE})")
    Duration releaseTimeout;

    @Option(
            names = "--no-server-side-apply",
            description =
                    "write the finalizer and status with JSON patches instead of server-side apply (only for an API server without it)")
    boolean noServerSideApply;

    @Option(
            names = "--plain-http-registry",
            description =
                    "registry host[:port] (or host, for every port) to reach over http (repeatable); localhost, 127.0.0.1 and [::1] always are")
    List<String> plainHttpRegistries = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        // The API server refuses a core/v1 Event about a cluster-scoped object in any namespace but
        // "default" (or none): every event would be lost, each with only a log line.
        if (!"default".equals(eventNamespace)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--event-namespace '"
                            + eventNamespace
                            + "': the API server accepts events about cluster-scoped objects such as ComposefsImages only in"
                            + " 'default'; leave the option out");
        }
        KubernetesClient client = new KubernetesClientBuilder().build();
        ObjectMapper json = new ObjectMapper();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OperatorMetrics metrics = new OperatorMetrics(registry);
        var resolver =
                new RegistryManifestResolver(
                        plainHttpRegistries, Duration.ofSeconds(10), Duration.ofSeconds(30));
        var defaults = ComposefsImageReconciler.Settings.defaults();
        var settings =
                new ComposefsImageReconciler.Settings(
                        releaseTimeout,
                        defaults.releasePoll(),
                        defaults.resolveRetry(),
                        defaults.secretRetry(),
                        eventNamespace,
                        defaults.countsInterval());
        var reconciler =
                new ComposefsImageReconciler(resolver, settings, metrics, Clock.systemUTC(), json);

        Optional<LeaderElectionConfiguration> election = Optional.empty();
        if (!noLeaderElection) {
            String ns =
                    leaseNamespace != null
                            ? leaseNamespace
                            : Optional.ofNullable(System.getenv("POD_NAMESPACE"))
                                    .orElse(client.getNamespace());
            if (ns == null) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "no namespace for the leader-election Lease: pass --lease-namespace or set POD_NAMESPACE");
            }
            String identity =
                    Optional.ofNullable(System.getenv("POD_NAME"))
                            .orElse(InetAddress.getLocalHost().getHostName());
            election = Optional.of(new LeaderElectionConfiguration(leaseName, ns, identity));
        }
        Operator operator = KcfsOperator.create(client, reconciler, election, !noServerSideApply);
        String[] hostPort = metricsAddress.split(":(?=[0-9]+$)");
        if (hostPort.length != 2) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--metrics-address '" + metricsAddress + "' must be host:port");
        }
        MetricsServer server =
                MetricsServer.start(
                        new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])),
                        registry::scrape,
                        () -> health(operator));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    operator.stop();
                                    server.close();
                                    client.close();
                                    stopped.countDown();
                                },
                                "kcfs-operator-shutdown"));
        try {
            operator.start();
        } catch (RuntimeException e) {
            System.err.println(
                    "kcfs-operator: cannot start against the Kubernetes API at "
                            + client.getConfiguration().getMasterUrl()
                            + ": "
                            + rootMessage(e)
                            + " (set KUBECONFIG, or run in a pod with a service account)");
            return 1;
        }
        stopped.await();
        return 0;
    }

    /** What /healthz reports: empty while every controller's event sources are healthy, else which are not. */
    static Optional<String> health(Operator operator) {
        var info = operator.getRuntimeInfo();
        if (info.allEventSourcesAreHealthy()) {
            return Optional.empty();
        }
        List<String> unhealthy = new ArrayList<>();
        info.unhealthyEventSources()
                .forEach(
                        (controller, sources) ->
                                sources.keySet()
                                        .forEach(
                                                source ->
                                                        unhealthy.add(controller + "/" + source)));
        return Optional.of("unhealthy event sources: " + String.join(", ", unhealthy));
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    public static void main(String[] args) {
        int code = new CommandLine(new OperatorMain()).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }
}
