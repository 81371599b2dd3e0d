package dev.kcfs.api;

/** Where one image stands on one node. */
public enum ImageState {
    Pending,
    Building,
    Ready,
    Failed
}
