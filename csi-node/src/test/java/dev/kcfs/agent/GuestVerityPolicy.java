package dev.kcfs.agent;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.Verity;
import dev.kcfs.csi.KubeletRequests;
import dev.kcfs.oci.registry.Fixtures;
import dev.kcfs.oci.registry.TestRegistry;
import dev.kcfs.verity.Digest;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The verity VM test's check of {@code spec.verity} (verity-vm/): inside the guest, on a kernel with
 * fs-verity and a node directory on an ext4 with the verity feature, the node agent and the CSI
 * plugin wired as kcfs-node wires them ({@link TestNode#withCsi}) build three ComposefsImages from a
 * real registry (docker-registry) through the fabric8 mock API server, one per {@code spec.verity},
 * and kubelet's publish of each must mount it with the verity that value asks for.
 *
 * <pre>GuestVerityPolicy NODE_DIR</pre>
 *
 * Prints "KCFS-VM: PASS ..." / "KCFS-VM: FAIL ..." lines like the guest script; exits with the number
 * of failures. A main rather than a JUnit test: the guest has no Maven, and one JVM start is
 * expensive there.
 */
public final class GuestVerityPolicy {
    private GuestVerityPolicy() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: GuestVerityPolicy NODE_DIR");
            System.exit(2);
        }
        Path root = Path.of(args[0]);
        int failures = 0;
        KubernetesMockServer api =
                new KubernetesMockServer(
                        new Context(),
                        new MockWebServer(),
                        new HashMap<>(),
                        new KubernetesCrudDispatcher(),
                        false);
        api.init(InetAddress.getByName("127.0.0.1"), 0);
        try (KubernetesClient client = api.createClient();
                TestRegistry registry = TestRegistry.anonymous()) {
            registry.start();
            AgentCluster cluster = new AgentCluster(client);
            String manifest =
                    AgentCluster.push(registry, AgentCluster.testImage(), "kcfs/tools", "v1");
            cluster.node("vm", Map.of("role", "web"));
            try (TestNode node = new TestNode(client, "vm", root, TestNode.fast("vm")).withCsi()) {
                for (Verity v : Verity.values()) {
                    String name = name(v);
                    cluster.apply(
                            name,
                            registry.address() + "/kcfs/tools:v1",
                            new LabelSelectorBuilder()
                                    .withMatchLabels(Map.of("role", "web"))
                                    .build(),
                            spec -> spec.setVerity(v));
                    cluster.pin(name, registry.address() + "/kcfs/tools@" + manifest);
                }
                long deadline = System.nanoTime() + 300_000_000_000L;
                while (!Arrays.stream(Verity.values()).allMatch(v -> ready(cluster, name(v)))) {
                    if (System.nanoTime() > deadline) {
                        System.out.println(
                                "KCFS-VM: FAIL the node agent did not build the three images within 300 s");
                        System.exit(1);
                    }
                    Thread.sleep(200);
                }
                for (Verity v : Verity.values()) {
                    failures += publish(node, v) ? 0 : 1;
                }
            }
        } finally {
            api.destroy();
        }
        System.exit(failures);
    }

    private static String name(Verity v) {
        return "verity-" + v.name().toLowerCase(Locale.ROOT);
    }

    private static boolean ready(AgentCluster cluster, String name) {
        var r = cluster.report("vm", name);
        return r != null && r.getState() == ImageState.Ready;
    }

    /** Publishes the image as kubelet would and checks its shared mount and its bytes. */
    private static boolean publish(TestNode node, Verity v) throws Exception {
        String name = name(v);
        Path target = node.target("pod-" + name);
        try {
            node.csi()
                    .nodePublishVolume(
                            KubeletRequests.publish("vol-" + name, target, name).build());
        } catch (RuntimeException e) {
            System.out.println(
                    "KCFS-VM: FAIL CSI publish of ComposefsImage "
                            + name
                            + " (spec.verity "
                            + v
                            + "): "
                            + e);
            return false;
        }
        Digest digest = node.store.ref(name).orElseThrow();
        String mountPoint = " " + node.store.mountPoint(digest) + " ";
        List<String> shared =
                Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                        .filter(l -> l.contains(mountPoint))
                        .toList();
        boolean enforced = shared.size() == 1 && shared.get(0).contains("verity=require");
        boolean wanted =
                v != Verity.Disabled; // IfSupported: this kernel and the store's ext4 support
        // verity
        boolean bytes = Arrays.equals(Files.readAllBytes(target.resolve("bin/tool")), Fixtures.BIG);
        // the three images have one composefs digest, so one shared mount: the next must make its
        // own
        node.csi().nodeUnpublishVolume(KubeletRequests.unpublish("vol-" + name, target));
        String what =
                "ComposefsImage "
                        + name
                        + " (spec.verity "
                        + v
                        + ") published by the CSI plugin with its node agent: "
                        + (enforced ? "verity=require" : "no verity")
                        + " on the shared mount";
        if (enforced == wanted && bytes) {
            System.out.println("KCFS-VM: PASS " + what + ", files read back");
            return true;
        }
        System.out.println(
                "KCFS-VM: FAIL "
                        + what
                        + " (wanted "
                        + (wanted ? "verity=require" : "none")
                        + "; bytes "
                        + (bytes ? "right" : "WRONG")
                        + "; mountinfo "
                        + shared
                        + ")");
        return false;
    }
}
