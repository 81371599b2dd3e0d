package dev.kcfs.e2e;

import java.util.List;
import java.util.Locale;

/**
 * The figures of one e2e run: what the pods see, what the node keeps on disk and in page cache, and
 * what a copy per image (layer-based storage, when the images share no layer) would have kept.
 *
 * @param pods                 volumes published (one per pod)
 * @param images               ComposefsImages the pods use
 * @param podLogicalBytes      file bytes the pods see, summed over pods
 * @param imageLogicalBytes    file bytes of the images, summed over images (a copy per image)
 * @param storeObjects         files in the node store's objects/
 * @param storeBytes           their apparent size
 * @param storeDiskBytes       their allocated size (du)
 * @param imageFileBytes       the EROFS image files (metadata only)
 * @param perImagePageBytes    page cache a copy per image takes once every file is read (whole pages)
 * @param pageCacheBytes       page cache of the store objects after every file was read through every pod
 * @param pageCacheFirstPod    page cache of the store objects after only the first pod read its files
 * @param imagePageCacheBytes  page cache of the EROFS image files
 * @param bytesReadThroughPods bytes read through the pod mounts in the page-cache phase
 * @param meminfoCachedDelta   growth of the machine's Cached (/proc/meminfo) over that phase (noisy: the whole host)
 * @param publishMillis        NodePublishVolume latencies, in call order
 * @param metrics              the node plugin's own store gauges, as scraped from /metrics
 */
record SharingReport(
        int pods,
        List<String> images,
        long podLogicalBytes,
        long imageLogicalBytes,
        long storeObjects,
        long storeBytes,
        long storeDiskBytes,
        long imageFileBytes,
        long perImagePageBytes,
        long pageCacheBytes,
        long pageCacheFirstPod,
        long imagePageCacheBytes,
        long bytesReadThroughPods,
        long meminfoCachedDelta,
        List<Double> publishMillis,
        String metrics) {

    String format() {
        StringBuilder b = new StringBuilder();
        b.append("kcfs e2e sharing report\n");
        b.append("=======================\n");
        b.append(
                String.format(
                        Locale.ROOT,
                        "%d pods over %d images (%s) on one node%n",
                        pods,
                        images.size(),
                        String.join(", ", images)));
        b.append('\n').append("Disk\n");
        line(b, "logical bytes the pods see (summed over pods)", podLogicalBytes);
        line(b, "logical bytes of the images (a copy per image)", imageLogicalBytes);
        line(b, "store objects (one per distinct file)", storeObjects, "files");
        line(b, "bytes in store objects", storeBytes);
        line(b, "  allocated on disk", storeDiskBytes);
        line(b, "composefs image files (metadata)", imageFileBytes);
        line(b, "saved on disk vs a copy per image", imageLogicalBytes - storeBytes);
        b.append(
                String.format(
                        Locale.ROOT,
                        "  %-52s %14.2f%n",
                        "dedup ratio (image bytes / stored bytes)",
                        (double) imageLogicalBytes / Math.max(1, storeBytes)));
        b.append('\n')
                .append(
                        "Page cache (store objects evicted, then every file read through every pod)\n");
        line(b, "bytes read through the pod mounts", bytesReadThroughPods);
        line(b, "page cache after the first pod read its files", pageCacheFirstPod);
        line(b, "page cache of store objects after all pods", pageCacheBytes);
        line(b, "page cache of composefs image files", imagePageCacheBytes);
        line(b, "page cache a copy per image would take", perImagePageBytes);
        line(b, "saved in page cache vs a copy per image", perImagePageBytes - pageCacheBytes);
        line(b, "host Cached growth meanwhile (/proc/meminfo, noisy)", meminfoCachedDelta);
        b.append('\n').append("Publish (NodePublishVolume of a prebuilt image)\n");
        double[] ms = publishMillis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        b.append(
                String.format(
                        Locale.ROOT,
                        "  %-52s %14s%n",
                        "latency min / median / max",
                        String.format(
                                Locale.ROOT,
                                "%.1f / %.1f / %.1f ms",
                                ms[0],
                                ms[ms.length / 2],
                                ms[ms.length - 1])));
        b.append('\n').append("Node plugin metrics (/metrics)\n");
        metrics.lines().forEach(l -> b.append("  ").append(l).append('\n'));
        return b.toString();
    }

    private static void line(StringBuilder b, String what, long bytes) {
        line(b, what, bytes, "bytes");
    }

    private static void line(StringBuilder b, String what, long n, String unit) {
        String human =
                unit.equals("bytes")
                        ? String.format(Locale.ROOT, "  (%.1f MiB)", n / 1048576.0)
                        : "";
        b.append(String.format(Locale.ROOT, "  %-52s %14d %s%s%n", what, n, unit, human));
    }
}
