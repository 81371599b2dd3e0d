package dev.kcfs.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/** A node agent's report: its store, each image it holds or builds, and when GC last ran. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ComposefsNodeStatus {
    private StoreStats store;
    private List<NodeImage> images = new ArrayList<>();

    /** images.size(), for the IMAGES printer column (JSONPath cannot count). */
    private Integer imageCount;

    /** RFC 3339 time of the last finished GC run. */
    private String lastGC;

    public StoreStats getStore() {
        return store;
    }

    public void setStore(StoreStats store) {
        this.store = store;
    }

    public List<NodeImage> getImages() {
        return images;
    }

    public void setImages(List<NodeImage> images) {
        this.images = images;
    }

    public Integer getImageCount() {
        return imageCount;
    }

    public void setImageCount(Integer imageCount) {
        this.imageCount = imageCount;
    }

    public String getLastGC() {
        return lastGC;
    }

    public void setLastGC(String lastGC) {
        this.lastGC = lastGC;
    }
}
