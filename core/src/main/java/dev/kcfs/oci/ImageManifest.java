package dev.kcfs.oci;

import java.util.List;

/**
 * A resolved single-platform image: the manifest's own digest (what a ref pins), its config and
 * its layers in application order.
 */
public record ImageManifest(
        String digest, String mediaType, Descriptor config, List<Descriptor> layers) {
    public ImageManifest {
        layers = List.copyOf(layers);
    }
}
