package dev.kcfs.operator;

import dev.kcfs.api.ImageState;
import dev.kcfs.api.NodeImage;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Folds the per-node reports of one image into the counts and verdicts of its status. */
final class NodeReports {
    /** One node's view of the image: whether the image's selector wants the node, and its report (or null). */
    record Report(String node, boolean desired, NodeImage image) {}

    /**
     * @param digest the digest all Ready nodes agree on, null when none is Ready or they disagree
     * @param degradedReason null when not degraded
     */
    record Fold(
            int desired,
            int ready,
            int failed,
            String digest,
            Long files,
            Long objects,
            Long bytes,
            String degradedReason,
            String degradedMessage) {}

    private NodeReports() {}

    /**
     * A Ready report counts as ready only when it has the reference digest: expectedDigest when set,
     * otherwise the digest most nodes built (ties: the smallest, so the verdict is deterministic). Other
     * Ready digests count as failed, like Failed reports: a node serving different bytes is a failure.
     */
    static Fold fold(Collection<Report> reports, String expectedDigest) {
        Map<String, List<String>> nodesByDigest = new TreeMap<>();
        for (Report r : reports) {
            if (r.image() != null && r.image().getState() == ImageState.Ready) {
                nodesByDigest
                        .computeIfAbsent(
                                String.valueOf(r.image().getDigest()), d -> new ArrayList<>())
                        .add(r.node());
            }
        }
        String reference = expectedDigest;
        if (reference == null) {
            reference =
                    nodesByDigest.entrySet().stream()
                            .max(
                                    Comparator.<Map.Entry<String, List<String>>>comparingInt(
                                                    e -> e.getValue().size())
                                            .thenComparing(
                                                    Map.Entry::getKey, Comparator.reverseOrder()))
                            .map(Map.Entry::getKey)
                            .orElse(null);
        }
        int desired = 0;
        int ready = 0;
        int failed = 0;
        NodeImage sample = null;
        String firstFailure = null;
        for (Report r : reports) {
            NodeImage img = r.image();
            boolean isReady = img != null && img.getState() == ImageState.Ready;
            boolean good = isReady && String.valueOf(img.getDigest()).equals(reference);
            if (good && sample == null) {
                sample = img;
            }
            if (!r.desired()) {
                continue;
            }
            desired++;
            if (good) {
                ready++;
            } else if (img != null && (img.getState() == ImageState.Failed || isReady)) {
                failed++;
                if (firstFailure == null && img.getState() == ImageState.Failed) {
                    firstFailure =
                            r.node()
                                    + ": "
                                    + (img.getMessage() == null ? "no message" : img.getMessage());
                }
            }
        }
        String agreed = nodesByDigest.size() == 1 ? nodesByDigest.keySet().iterator().next() : null;

        String reason = null;
        String message = null;
        if (nodesByDigest.size() > 1) {
            reason = "DigestDisagreement";
            message = "nodes built different images: " + describe(nodesByDigest);
        } else if (expectedDigest != null && agreed != null && !agreed.equals(expectedDigest)) {
            reason = "DigestMismatch";
            message =
                    "nodes built "
                            + agreed
                            + " but spec.expectedDigest is "
                            + expectedDigest
                            + ": "
                            + describe(nodesByDigest)
                            + "; check the source image and spec.formatVersion, or fix spec.expectedDigest";
        } else if (firstFailure != null) {
            reason = "BuildFailed";
            message =
                    failed
                            + " of "
                            + desired
                            + " nodes failed to build the image, e.g. "
                            + firstFailure;
        }
        return new Fold(
                desired,
                ready,
                failed,
                agreed,
                sample == null ? null : sample.getFiles(),
                sample == null ? null : sample.getObjects(),
                sample == null ? null : sample.getBytes(),
                reason,
                message);
    }

    /** "abc… on 3 nodes (n1, n2, …)" per digest; names at most three nodes so messages stay short. */
    private static String describe(Map<String, List<String>> nodesByDigest) {
        List<String> parts = new ArrayList<>();
        nodesByDigest.forEach(
                (d, nodes) -> {
                    List<String> sorted = new ArrayList<>(nodes);
                    sorted.sort(null);
                    String names =
                            String.join(", ", sorted.subList(0, Math.min(3, sorted.size())))
                                    + (sorted.size() > 3 ? ", …" : "");
                    parts.add(
                            d
                                    + " on "
                                    + nodes.size()
                                    + (nodes.size() == 1 ? " node (" : " nodes (")
                                    + names
                                    + ")");
                });
        return String.join("; ", parts);
    }
}
