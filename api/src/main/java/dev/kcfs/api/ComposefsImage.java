package dev.kcfs.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A composefs image admins ask the cluster to prebuild (docs/architecture.md, 'From a ComposefsImage to a pod's files'). Cluster-scoped:
 * it does not implement {@link Namespaced}. The operator writes the status; node agents read the spec.
 */
@Group(ComposefsImage.GROUP)
@Version(ComposefsImage.VERSION)
@ShortNames("cfsimage")
@AdditionalPrinterColumn(
        name = "IMAGE",
        jsonPath = ".spec.source.image",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "DIGEST",
        jsonPath = ".status.shortDigest",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "READY",
        jsonPath = ".status.ready",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "AGE",
        jsonPath = ".metadata.creationTimestamp",
        type = AdditionalPrinterColumn.Type.DATE)
public class ComposefsImage extends CustomResource<ComposefsImageSpec, ComposefsImageStatus> {
    public static final String GROUP = "kcfs.dev";
    public static final String VERSION = "v1alpha1";

    public ComposefsImage() {}
}
