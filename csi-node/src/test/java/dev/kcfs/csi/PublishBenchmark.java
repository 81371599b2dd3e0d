package dev.kcfs.csi;

import dev.kcfs.csi.v1.NodeGrpc;
import dev.kcfs.mount.VerityMode;
import dev.kcfs.publish.ImagePolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Publish + unpublish latency as kubelet sees it (gRPC over the Unix socket, real mounts), for
 * {@code rounds} rounds: first with no other volume of the image open (each round mounts and
 * drops the shared image mount), then with 20 volumes of the image open (each round is a bind
 * mount onto the existing shared mount). Run by {@code bench/csi-publish.sh}; needs root.
 *
 * <p>Arguments: {@code [ROUNDS] [composefs|tmpfs]}. {@code composefs} (the default) publishes a real
 * composefs image (500 files) from a real node store; {@code tmpfs} uses the test stand-in image
 * to separate the plugin's own cost from the composefs mount.
 */
public final class PublishBenchmark {
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        boolean composefs = args.length < 2 || args[1].equals("composefs");
        Path dir = Files.createTempDirectory("kcfs-csi-bench");
        TmpfsImages images = new TmpfsImages();
        images.add("bench");
        CsiTestNode setup = new CsiTestNode(dir, images);
        if (composefs) {
            Path tree = Files.createDirectories(dir.resolve("tree"));
            java.util.Random random = new java.util.Random(1);
            for (int i = 0; i < 500; i++) {
                Path f = tree.resolve("d" + (i % 20) + "/f" + i);
                Files.createDirectories(f.getParent());
                byte[] body = new byte[100 + random.nextInt(20_000)];
                random.nextBytes(body);
                Files.write(f, body);
            }
            dev.kcfs.store.Store store = dev.kcfs.store.Store.open(setup.store);
            ComposefsImages.build(store, tree, "bench");
            setup.parts =
                    NodePlugin.Parts.overStore(new StoreImages(store))
                            .mounter(
                                    new dev.kcfs.mount.StoreImageMounter(
                                            store, new dev.kcfs.mount.ComposefsMounter()))
                            .policy(ImagePolicy.standalone(VerityMode.IF_SUPPORTED));
        }
        System.out.println(
                "image: "
                        + (composefs
                                ? "composefs (500 files, real node store)"
                                : "tmpfs stand-in"));
        try (CsiTestNode node = setup.start()) {
            NodeGrpc.NodeBlockingStub stub = node.node();
            // a node plugin runs for days: measure it with the JIT warm (C2 needs a few hundred
            // rounds)
            run(node, stub, "warmup", 500);
            report("no other volume open", run(node, stub, "alone", rounds));
            for (int i = 0; i < 20; i++) {
                stub.nodePublishVolume(
                        KubeletRequests.publish("open-" + i, node.target("open-" + i), "bench")
                                .build());
            }
            report("20 volumes of the image open", run(node, stub, "shared", rounds));
            for (int i = 0; i < 20; i++) {
                stub.nodeUnpublishVolume(
                        KubeletRequests.unpublish("open-" + i, node.target("open-" + i)));
            }
        } finally {
            PublishedVolumes.deleteTree(dir);
        }
    }

    private static long[] run(
            CsiTestNode node, NodeGrpc.NodeBlockingStub stub, String name, int rounds)
            throws Exception {
        long[] nanos = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            Path target = node.target(name + "-" + i);
            long start = System.nanoTime();
            stub.nodePublishVolume(
                    KubeletRequests.publish(name + "-" + i, target, "bench").build());
            stub.nodeUnpublishVolume(KubeletRequests.unpublish(name + "-" + i, target));
            nanos[i] = System.nanoTime() - start;
        }
        return nanos;
    }

    private static void report(String what, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf(
                Locale.ROOT,
                "publish+unpublish, %s: %d rounds, p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                what,
                sorted.length,
                ms(sorted, 0.50),
                ms(sorted, 0.99),
                sorted[sorted.length - 1] / 1e6);
    }

    private static double ms(long[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, i)] / 1e6;
    }
}
