package dev.kcfs.publish;

/**
 * Hook for building an image that a pod asks for but the node has not prebuilt. Implemented by the
 * node agent; {@link #request} must only start (or look up) a background build and return at once,
 * because the caller is a kubelet RPC with a deadline.
 */
@FunctionalInterface
public interface OnDemandBuilds {
    /** On-demand builds turned off: a missing image stays missing until the agent prebuilds it. */
    OnDemandBuilds DISABLED =
            name ->
                    new BuildState(
                            BuildState.Kind.DISABLED, "on-demand builds are disabled on this node");

    BuildState request(String imageName);

    /** What the build of one image is doing, with a message for the pod's events. */
    record BuildState(Kind kind, String message) {
        public enum Kind {
            /** A build was started by this request. */
            STARTED,
            /** A build was already running. */
            BUILDING,
            /** The last build failed; {@code message} says why. A later request retries. */
            FAILED,
            /** No ComposefsImage of that name exists in the cluster. */
            UNKNOWN_IMAGE,
            /** On-demand builds are off. */
            DISABLED
        }
    }
}
