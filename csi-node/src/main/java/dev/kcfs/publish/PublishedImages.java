package dev.kcfs.publish;

import java.util.Map;

/**
 * The images volumes use now, by ComposefsImage name: what the node agent must keep, and the mount
 * counts it reports. The CSI plugin's published volumes answer.
 */
@FunctionalInterface
public interface PublishedImages {
    PublishedImages NONE = Map::of;

    /** Volumes published now, per image name. */
    Map<String, Integer> volumesByImage();
}
