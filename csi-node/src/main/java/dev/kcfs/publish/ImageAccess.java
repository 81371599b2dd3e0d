package dev.kcfs.publish;

import java.util.Set;

/**
 * Who may mount an image: {@code spec.allowedNamespaces} of the ComposefsImage. The node agent
 * answers from its watch cache; an empty set means every namespace.
 */
@FunctionalInterface
public interface ImageAccess {
    ImageAccess ANY_NAMESPACE = name -> Set.of();

    Set<String> allowedNamespaces(String imageName);
}
