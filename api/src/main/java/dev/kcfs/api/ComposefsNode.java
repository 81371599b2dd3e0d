package dev.kcfs.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One per node, named after the node and written only by that node's agent: its store and the state
 * of every image it holds. Cluster-scoped; there is no spec, only a status.
 */
@Group(ComposefsImage.GROUP)
@Version(ComposefsImage.VERSION)
@ShortNames("cfsnode")
@AdditionalPrinterColumn(
        name = "IMAGES",
        jsonPath = ".status.imageCount",
        type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
        name = "OBJECTS",
        jsonPath = ".status.store.objects",
        type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
        name = "DISK",
        jsonPath = ".status.store.bytesOnDisk",
        type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
        name = "SAVED",
        jsonPath = ".status.store.dedupRatio",
        type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(
        name = "VERITY",
        jsonPath = ".status.store.veritySupported",
        type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
        name = "AGE",
        jsonPath = ".metadata.creationTimestamp",
        type = AdditionalPrinterColumn.Type.DATE)
public class ComposefsNode extends CustomResource<Void, ComposefsNodeStatus> {
    public ComposefsNode() {}
}
