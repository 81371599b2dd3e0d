package dev.kcfs.csi;

import dev.kcfs.csi.v1.NodePublishVolumeRequest;
import dev.kcfs.csi.v1.VolumeCapability;
import dev.kcfs.csi.v1.VolumeCapability.AccessMode.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A validated NodePublishVolume request. Volume attributes come from pod specs, so everything is
 * checked here before anything touches the file system: the image is a Kubernetes object name
 * (never a path), unknown attributes are refused (a typo like {@code writeable} must not silently
 * give a read-only volume), and the target lies under the kubelet directory.
 */
public record VolumeSpec(
        String volumeId,
        Path target,
        String imageName,
        boolean writable,
        boolean readonly,
        Optional<String> podNamespace) {
    static final String ATTR_IMAGE = "image";
    static final String ATTR_WRITABLE = "writable";
    static final String POD_INFO_PREFIX = "csi.storage.k8s.io/";
    static final String ATTR_POD_NAMESPACE = "csi.storage.k8s.io/pod.namespace";

    /** RFC 1123 subdomain: what Kubernetes allows as a cluster-scoped object name. */
    private static final Pattern OBJECT_NAME =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    static VolumeSpec parse(NodePublishVolumeRequest request, Path kubeletDir) {
        String volumeId = requireVolumeId(request.getVolumeId());
        Path target = checkTarget(request.getTargetPath(), kubeletDir);

        if (!request.hasVolumeCapability()) {
            throw CsiException.invalid(
                    "volume_capability is missing in the publish request for volume " + volumeId);
        }
        VolumeCapability capability = request.getVolumeCapability();
        if (capability.hasBlock()) {
            throw CsiException.invalid(
                    "volume "
                            + volumeId
                            + " asks for a block device; kcfs images are"
                            + " file systems: use volumeMode: Filesystem");
        }
        if (!capability.hasMount()) {
            throw CsiException.invalid(
                    "volume_capability of volume " + volumeId + " sets neither mount nor block");
        }
        Mode mode = capability.getAccessMode().getMode();
        if (mode == Mode.UNKNOWN || mode == Mode.UNRECOGNIZED) {
            throw CsiException.invalid(
                    "volume_capability.access_mode of volume " + volumeId + " is missing");
        }

        Map<String, String> attributes = request.getVolumeContextMap();
        for (String key : attributes.keySet()) {
            if (!key.equals(ATTR_IMAGE)
                    && !key.equals(ATTR_WRITABLE)
                    && !key.startsWith(POD_INFO_PREFIX)) {
                throw CsiException.invalid(
                        "volume "
                                + volumeId
                                + ": unknown volume attribute \""
                                + key
                                + "\"; kcfs accepts \"image\" (a ComposefsImage name) and \"writable\" (\"true\" or \"false\")");
            }
        }
        String imageName = attributes.get(ATTR_IMAGE);
        if (imageName == null || imageName.isEmpty()) {
            throw CsiException.invalid(
                    "volume "
                            + volumeId
                            + ": volume attribute \"image\" is missing; set it to"
                            + " the name of a ComposefsImage");
        }
        if (imageName.length() > 253 || !OBJECT_NAME.matcher(imageName).matches()) {
            throw CsiException.invalid(
                    "volume "
                            + volumeId
                            + ": volume attribute image=\""
                            + printable(imageName)
                            + "\" is not a ComposefsImage name (lowercase letters, digits, '-' and '.', at most 253"
                            + " characters; paths are not accepted)");
        }
        boolean writable;
        String w = attributes.getOrDefault(ATTR_WRITABLE, "false");
        if (w.equals("true")) {
            writable = true;
        } else if (w.equals("false")) {
            writable = false;
        } else {
            throw CsiException.invalid(
                    "volume "
                            + volumeId
                            + ": volume attribute writable=\""
                            + printable(w)
                            + "\" must be \"true\" or \"false\"");
        }
        if (writable && request.getReadonly()) {
            throw CsiException.invalid(
                    "volume "
                            + volumeId
                            + " sets writable: \"true\" but is mounted readOnly;"
                            + " drop one of them");
        }
        if (writable
                && (mode == Mode.SINGLE_NODE_READER_ONLY || mode == Mode.MULTI_NODE_READER_ONLY)) {
            throw CsiException.invalid(
                    "volume "
                            + volumeId
                            + " sets writable: \"true\" but its access mode is "
                            + mode
                            + "; use a writer access mode or drop writable");
        }
        Optional<String> namespace =
                Optional.ofNullable(attributes.get(ATTR_POD_NAMESPACE)).filter(s -> !s.isEmpty());
        return new VolumeSpec(
                volumeId, target, imageName, writable, request.getReadonly(), namespace);
    }

    static String requireVolumeId(String volumeId) {
        if (volumeId.isEmpty()) {
            throw CsiException.invalid("volume_id is empty");
        }
        if (volumeId.length() > 1024 || volumeId.chars().anyMatch(c -> c < 0x20)) {
            throw CsiException.invalid(
                    "volume_id \""
                            + printable(volumeId)
                            + "\" is too long or holds control characters");
        }
        return volumeId;
    }

    /**
     * The target must be an absolute, normalised path strictly below the kubelet directory, also
     * after resolving the symlinks of the part that exists, and must not itself be a symlink: a
     * crafted path must not make the plugin mount over something else on the host.
     */
    static Path checkTarget(String targetPath, Path kubeletDir) {
        if (targetPath.isEmpty()) {
            throw CsiException.invalid("target_path is empty");
        }
        if (targetPath.indexOf('\0') >= 0) {
            throw CsiException.invalid("target_path holds a NUL character");
        }
        // the kernel's limits (PATH_MAX, NAME_MAX), checked before any syscall fails on them
        if (targetPath.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 4096) {
            throw CsiException.invalid(
                    "target_path is "
                            + targetPath.length()
                            + " characters long; Linux paths end at 4095 bytes");
        }
        for (String part : targetPath.split("/")) {
            if (part.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
                throw CsiException.invalid(
                        "target_path has a component of "
                                + part.length()
                                + " characters ("
                                + printable(part.substring(0, 20))
                                + "...); Linux file names end at 255 bytes");
            }
        }
        Path target = Path.of(targetPath);
        if (!target.isAbsolute()
                || !target.normalize().toString().equals(targetPath.replaceAll("/+$", ""))) {
            throw CsiException.invalid(
                    "target_path "
                            + targetPath
                            + " must be an absolute path without . or .. parts");
        }
        target = target.normalize();
        if (!target.startsWith(kubeletDir) || target.equals(kubeletDir)) {
            throw CsiException.invalid(
                    "target_path "
                            + targetPath
                            + " is not under the kubelet directory "
                            + kubeletDir
                            + " (if kubelet runs with another --root-dir, start kcfs-node with --kubelet-dir)");
        }
        try {
            Path realKubelet = kubeletDir.toRealPath();
            Path existing = target;
            while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
                existing = existing.getParent();
            }
            if (existing != null && existing.equals(target) && Files.isSymbolicLink(target)) {
                throw CsiException.invalid(
                        "target_path "
                                + targetPath
                                + " is a symbolic link; refusing to mount over it");
            }
            if (existing != null && !existing.toRealPath().startsWith(realKubelet)) {
                throw CsiException.invalid(
                        "target_path "
                                + targetPath
                                + " leads out of the kubelet directory "
                                + kubeletDir
                                + " through a symbolic link");
            }
        } catch (IOException e) {
            throw new CsiException(
                    io.grpc.Status.Code.INTERNAL,
                    "cannot check target_path " + targetPath + ": " + e,
                    e);
        }
        return target;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints()
                .limit(80)
                .forEach(
                        c -> {
                            if (c < 0x20 || c == 0x7f) {
                                b.append(String.format("\\x%02x", c));
                            } else {
                                b.appendCodePoint(c);
                            }
                        });
        return s.length() > 80 ? b + "…" : b.toString();
    }
}
