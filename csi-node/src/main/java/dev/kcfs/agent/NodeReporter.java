package dev.kcfs.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.api.ComposefsNode;
import dev.kcfs.api.ComposefsNodeStatus;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes this node's {@code ComposefsNode} status: creates the object when missing (owned by the
 * Node, so it goes with it), then plain status updates carrying the last seen resourceVersion; a
 * 409 means someone else wrote in between, so it reads again and retries. Never server-side apply
 * (see DEPENDENCIES.md). A status equal to the last one written is not sent. Rate limits are the
 * caller's ({@link NodeAgent} decides when to call {@link #write}).
 */
final class NodeReporter {
    private static final Logger LOG = LoggerFactory.getLogger(NodeReporter.class);
    private static final int CONFLICT_RETRIES = 5;

    private final KubernetesClient client;
    private final String nodeName;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicLong writes = new AtomicLong();
    private ComposefsNode current;
    private JsonNode lastWritten;

    NodeReporter(KubernetesClient client, String nodeName) {
        this.client = client;
        this.nodeName = nodeName;
    }

    /** Status writes sent so far (for tests and metrics). */
    long writes() {
        return writes.get();
    }

    /** Whether {@code status} differs from what was last written. */
    synchronized boolean differs(ComposefsNodeStatus status) {
        return !json.valueToTree(status).equals(lastWritten);
    }

    /**
     * Writes {@code status} unless it equals the last status written.
     *
     * @return whether a write was sent
     * @throws KubernetesClientException when the API server refuses for another reason than a conflict
     */
    synchronized boolean write(ComposefsNodeStatus status) {
        JsonNode wanted = json.valueToTree(status);
        if (wanted.equals(lastWritten)) {
            return false;
        }
        for (int attempt = 0; ; attempt++) {
            if (current == null) {
                current = getOrCreate();
            }
            current.setStatus(status);
            try {
                current = client.resource(current).updateStatus();
                writes.incrementAndGet();
                lastWritten = wanted;
                return true;
            } catch (KubernetesClientException e) {
                current = null;
                if ((e.getCode() != 409 && e.getCode() != 404) || attempt >= CONFLICT_RETRIES) {
                    throw e;
                }
                LOG.debug("status of ComposefsNode {} changed meanwhile (HTTP {}); reading it again", nodeName, e.getCode());
            }
        }
    }

    private ComposefsNode getOrCreate() {
        var resource = client.resources(ComposefsNode.class).withName(nodeName);
        ComposefsNode existing = resource.get();
        if (existing != null) {
            return existing;
        }
        ComposefsNode fresh = new ComposefsNode();
        ObjectMetaBuilder meta = new ObjectMetaBuilder().withName(nodeName);
        Node node = client.nodes().withName(nodeName).get();
        if (node != null) {
            // garbage-collected with its Node: a report of a node that is gone would otherwise stay forever
            meta.withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("Node")
                    .withName(nodeName).withUid(node.getMetadata().getUid()).build());
        }
        fresh.setMetadata(meta.build());
        try {
            return client.resource(fresh).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return resource.get(); // created meanwhile (another agent instance during a rollout)
            }
            throw e;
        }
    }
}
