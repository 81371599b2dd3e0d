package dev.kcfs.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * What the operator observed. Counts only, never per-node lists: per-node state lives in the
 * {@link ComposefsNode} objects so a status write stays small at thousands of nodes.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ComposefsImageStatus {
    private Long observedGeneration;

    /** spec.source.image pinned by manifest digest (repo@sha256:...). */
    private String resolvedImage;

    /** The composefs image fs-verity digest the nodes agree on. */
    private String digest;

    /** The first 12 hex digits of digest, for the DIGEST printer column. */
    private String shortDigest;

    /** "ready/desired", for the READY printer column (JSONPath cannot join two fields). */
    private String ready;

    private Long files;
    private Long objects;

    /** Logical bytes of all files in the image. */
    private Long bytes;

    private NodeCounts nodes;
    private List<Condition> conditions = new ArrayList<>();

    public Long getObservedGeneration() {
        return observedGeneration;
    }

    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public String getResolvedImage() {
        return resolvedImage;
    }

    public void setResolvedImage(String resolvedImage) {
        this.resolvedImage = resolvedImage;
    }

    public String getDigest() {
        return digest;
    }

    public void setDigest(String digest) {
        this.digest = digest;
    }

    public String getShortDigest() {
        return shortDigest;
    }

    public void setShortDigest(String shortDigest) {
        this.shortDigest = shortDigest;
    }

    public String getReady() {
        return ready;
    }

    public void setReady(String ready) {
        this.ready = ready;
    }

    public Long getFiles() {
        return files;
    }

    public void setFiles(Long files) {
        this.files = files;
    }

    public Long getObjects() {
        return objects;
    }

    public void setObjects(Long objects) {
        this.objects = objects;
    }

    public Long getBytes() {
        return bytes;
    }

    public void setBytes(Long bytes) {
        this.bytes = bytes;
    }

    public NodeCounts getNodes() {
        return nodes;
    }

    public void setNodes(NodeCounts nodes) {
        this.nodes = nodes;
    }

    public List<Condition> getConditions() {
        return conditions;
    }

    public void setConditions(List<Condition> conditions) {
        this.conditions = conditions;
    }
}
