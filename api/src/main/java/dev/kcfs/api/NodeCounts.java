package dev.kcfs.api;

/** How many nodes should hold an image, hold it built, and failed to build it. */
public class NodeCounts {
    private int desired;
    private int ready;
    private int failed;

    public NodeCounts() {}

    public NodeCounts(int desired, int ready, int failed) {
        this.desired = desired;
        this.ready = ready;
        this.failed = failed;
    }

    public int getDesired() {
        return desired;
    }

    public void setDesired(int desired) {
        this.desired = desired;
    }

    public int getReady() {
        return ready;
    }

    public void setReady(int ready) {
        this.ready = ready;
    }

    public int getFailed() {
        return failed;
    }

    public void setFailed(int failed) {
        this.failed = failed;
    }
}
