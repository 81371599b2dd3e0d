package dev.kcfs.csi;

import dev.kcfs.mount.KernelMounts;
import io.grpc.Status;
import java.nio.file.Path;

/**
 * Every metric the node plugin serves, as its real registry prints them: some series appear only
 * after the first publish or error, which this records once (hence this package).
 */
public final class CsiMetricSamples {
    private CsiMetricSamples() {}

    public static String scrape(Path storeRoot) {
        PublishedVolumes volumes =
                new PublishedVolumes(storeRoot, storeRoot, null, null, null, new KernelMounts());
        CsiMetrics metrics = new CsiMetrics(volumes, () -> new StoreUsage.Snapshot(3, 300, 900));
        metrics.published(PublishedVolumes.Outcome.MOUNTED);
        metrics.unpublished();
        metrics.error("NodePublishVolume", Status.Code.UNAVAILABLE);
        metrics.publishDuration(2_000_000, "OK");
        return metrics.scrape();
    }
}
