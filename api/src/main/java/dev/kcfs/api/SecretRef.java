package dev.kcfs.api;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** A namespaced reference to a kubernetes.io/dockerconfigjson Secret (images are cluster-scoped). */
public class SecretRef {
    /** An RFC 1123 DNS label (namespace names). */
    public static final String NAMESPACE_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

    /** An RFC 1123 DNS subdomain (Secret names). */
    public static final String NAME_PATTERN =
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    @Required
    @Pattern(NAMESPACE_PATTERN)
    private String namespace;

    @Required
    @Pattern(NAME_PATTERN)
    private String name;

    public SecretRef() {}

    public SecretRef(String namespace, String name) {
        this.namespace = namespace;
        this.name = name;
    }

    public String getNamespace() {
        return namespace;
    }

    public void setNamespace(String namespace) {
        this.namespace = namespace;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
