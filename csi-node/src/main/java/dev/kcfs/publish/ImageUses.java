package dev.kcfs.publish;

/** Told of every publish that found its image on the node: the node agent keeps lastUsed for LRU eviction. */
@FunctionalInterface
public interface ImageUses {
    ImageUses NONE = imageName -> {};

    void used(String imageName);
}
