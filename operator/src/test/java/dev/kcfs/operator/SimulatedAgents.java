package dev.kcfs.operator;

import dev.kcfs.api.ComposefsImage;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ComposefsNodeStatus;
import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import dev.kcfs.api.StoreStats;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Node agents for the scale benchmark: each owns one ComposefsNode, "builds" every resolved image
 * whose selector matches its Node labels (a random delay, no real store), and flushes its status at
 * most once per flush interval, as the real agent's bounded write rate does. One shared watch feeds all
 * of them (a real cluster gives each agent its own watch; fan-out is the API server's work, not the
 * operator's).
 */
final class SimulatedAgents implements AutoCloseable {
    private final KubernetesClient client;
    private final ScheduledExecutorService pool;
    private final List<Agent> agents = new ArrayList<>();
    private final long flushMillis;
    private final int maxBuildMillis;
    private SharedIndexInformer<ComposefsImage> informer;

    private final class Agent {
        final String node;
        final Map<String, String> labels;
        final Map<String, NodeImage> images = new ConcurrentHashMap<>();
        final Random random;
        volatile boolean dirty;
        long statsTick;

        /** The agent is its report's only writer, so it keeps the resourceVersion and PUTs the status. */
        volatile String resourceVersion;

        Agent(String node, Map<String, String> labels, long seed) {
            this.node = node;
            this.labels = labels;
            this.random = new Random(seed);
        }

        synchronized void consider(ComposefsImage image) {
            String name = image.getMetadata().getName();
            if (image.getMetadata().getDeletionTimestamp() != null) {
                drop(name); // the image is going: release it so the operator can remove its
                // finalizer
                return;
            }
            if (image.getStatus() == null
                    || image.getStatus().getResolvedImage() == null
                    || images.containsKey(name)
                    || !dev.kcfs.kube.LabelSelectors.matches(
                            image.getSpec().getNodeSelector(), labels)) {
                return;
            }
            images.put(name, new NodeImage(name, ImageState.Building));
            dirty = true;
            pool.schedule(
                    () -> finish(name), 20 + random.nextInt(maxBuildMillis), TimeUnit.MILLISECONDS);
        }

        synchronized void finish(String name) {
            NodeImage done = new NodeImage(name, ImageState.Ready);
            done.setDigest(digestOf(name));
            done.setFiles(1000L + Math.abs(name.hashCode() % 1000));
            done.setObjects(800L);
            done.setBytes(50_000_000L);
            done.setMounts(0);
            images.put(name, done);
            dirty = true;
        }

        synchronized void drop(String name) {
            if (images.remove(name) != null) {
                dirty = true;
            }
        }

        /** Store stats churn: written on the next flush, but never changes any image's status. */
        synchronized void touchStats() {
            statsTick++;
            dirty = true;
        }

        void flush() {
            ComposefsNode cn;
            synchronized (this) {
                if (!dirty) {
                    return;
                }
                dirty = false;
                cn = new ComposefsNode();
                cn.setMetadata(
                        new ObjectMetaBuilder()
                                .withName(node)
                                .withResourceVersion(resourceVersion)
                                .build());
                ComposefsNodeStatus s = new ComposefsNodeStatus();
                s.setImages(new ArrayList<>(images.values()));
                s.setImageCount(images.size());
                StoreStats stats = new StoreStats();
                stats.setObjects(800L * images.size() + statsTick);
                stats.setBytesOnDisk(30_000_000L * images.size());
                stats.setLogicalBytes(50_000_000L * images.size());
                stats.setVeritySupported(false);
                s.setStore(stats);
                cn.setStatus(s);
            }
            try {
                // PUT, not a merge patch: the mock API server appends to lists on merge patches.
                resourceVersion =
                        client.resources(ComposefsNode.class)
                                .resource(cn)
                                .updateStatus()
                                .getMetadata()
                                .getResourceVersion();
            } catch (RuntimeException e) {
                resourceVersion =
                        client.resources(ComposefsNode.class)
                                .withName(node)
                                .get()
                                .getMetadata()
                                .getResourceVersion();
                dirty = true; // retried on the next flush
            }
        }
    }

    SimulatedAgents(KubernetesClient client, int threads, long flushMillis, int maxBuildMillis) {
        this.client = client;
        this.flushMillis = flushMillis;
        this.maxBuildMillis = maxBuildMillis;
        this.pool = Executors.newScheduledThreadPool(threads);
    }

    static String digestOf(String image) {
        String h = Integer.toHexString(image.hashCode() & 0x7fffffff);
        return (h + "0".repeat(64)).substring(0, 64);
    }

    /** Registers the node's ComposefsNode (empty report) and starts its flush timer. */
    void add(String node, Map<String, String> labels) {
        ComposefsNode cn = new ComposefsNode();
        cn.setMetadata(new ObjectMetaBuilder().withName(node).build());
        String rv = client.resource(cn).create().getMetadata().getResourceVersion();
        Agent a = new Agent(node, labels, node.hashCode());
        a.resourceVersion = rv;
        agents.add(a);
        long offset = (long) (Math.random() * flushMillis);
        pool.scheduleWithFixedDelay(a::flush, offset, flushMillis, TimeUnit.MILLISECONDS);
    }

    void start() {
        informer =
                client.resources(ComposefsImage.class)
                        .inform(
                                new ResourceEventHandler<>() {
                                    @Override
                                    public void onAdd(ComposefsImage obj) {
                                        agents.forEach(a -> a.consider(obj));
                                    }

                                    @Override
                                    public void onUpdate(
                                            ComposefsImage oldObj, ComposefsImage newObj) {
                                        agents.forEach(a -> a.consider(newObj));
                                    }

                                    @Override
                                    public void onDelete(ComposefsImage obj, boolean unknown) {
                                        agents.forEach(a -> a.drop(obj.getMetadata().getName()));
                                    }
                                });
    }

    void churnStats() {
        agents.forEach(Agent::touchStats);
    }

    int size() {
        return agents.size();
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        pool.shutdownNow();
    }
}
