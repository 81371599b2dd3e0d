package dev.kcfs.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * One image on one node. files and objects are extra fields, but the image status
 * reports them, and only the nodes that built the image know them.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeImage {
    /** The ComposefsImage name. */
    @Required private String name;

    /** The composefs image fs-verity digest this node built. */
    @Pattern(ComposefsImageSpec.DIGEST_PATTERN)
    private String digest;

    @Required private ImageState state;
    private String message;

    /** Logical bytes of the image's files. */
    private Long bytes;

    private Long files;
    private Long objects;
    private Integer mounts;

    /** RFC 3339 time of the last mount or publish. */
    private String lastUsed;

    public NodeImage() {}

    public NodeImage(String name, ImageState state) {
        this.name = name;
        this.state = state;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public String getDigest() {
        return digest;
    }

    public void setDigest(String digest) {
        this.digest = digest;
    }

    public ImageState getState() {
        return state;
    }

    public void setState(ImageState state) {
        this.state = state;
    }

    public String getMessage() {
        return message;
    }

    public void setMessage(String message) {
        this.message = message;
    }

    public Long getBytes() {
        return bytes;
    }

    public void setBytes(Long bytes) {
        this.bytes = bytes;
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

    public Integer getMounts() {
        return mounts;
    }

    public void setMounts(Integer mounts) {
        this.mounts = mounts;
    }

    public String getLastUsed() {
        return lastUsed;
    }

    public void setLastUsed(String lastUsed) {
        this.lastUsed = lastUsed;
    }
}
