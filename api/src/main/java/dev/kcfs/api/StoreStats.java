package dev.kcfs.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** A node store's size and what sharing saves. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StoreStats {
    private Long objects;
    private Long bytesOnDisk;

    /** Sum of the sizes of all files of all images held, as if nothing were shared. */
    private Long logicalBytes;

    /** logicalBytes / bytesOnDisk. */
    private Double dedupRatio;

    private Long capacityBytes;
    private Long freeBytes;
    private Boolean veritySupported;

    public Long getObjects() {
        return objects;
    }

    public void setObjects(Long objects) {
        this.objects = objects;
    }

    public Long getBytesOnDisk() {
        return bytesOnDisk;
    }

    public void setBytesOnDisk(Long bytesOnDisk) {
        this.bytesOnDisk = bytesOnDisk;
    }

    public Long getLogicalBytes() {
        return logicalBytes;
    }

    public void setLogicalBytes(Long logicalBytes) {
        this.logicalBytes = logicalBytes;
    }

    public Double getDedupRatio() {
        return dedupRatio;
    }

    public void setDedupRatio(Double dedupRatio) {
        this.dedupRatio = dedupRatio;
    }

    public Long getCapacityBytes() {
        return capacityBytes;
    }

    public void setCapacityBytes(Long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    public Long getFreeBytes() {
        return freeBytes;
    }

    public void setFreeBytes(Long freeBytes) {
        this.freeBytes = freeBytes;
    }

    public Boolean getVeritySupported() {
        return veritySupported;
    }

    public void setVeritySupported(Boolean veritySupported) {
        this.veritySupported = veritySupported;
    }
}
