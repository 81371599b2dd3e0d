package dev.kcfs.agent;

import dev.kcfs.api.SecretRef;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Base64;
import java.util.List;

/**
 * Reads the {@code kubernetes.io/dockerconfigjson} Secrets a ComposefsImage points at, when a build
 * needs them (not watched: the node's RBAC allows reading only the secrets it is pointed at, and
 * builds are rare). Every failure says which secret and what to do.
 */
final class PullSecrets {
    static final String KEY = ".dockerconfigjson";

    private final KubernetesClient client;

    PullSecrets(KubernetesClient client) {
        this.client = client;
    }

    /** The merged credentials of all referenced secrets (the first secret wins for a registry). */
    DockerConfig load(String image, List<SecretRef> refs) throws BuildException {
        DockerConfig all = DockerConfig.empty();
        if (refs == null) {
            return all;
        }
        for (SecretRef ref : refs) {
            String what = "pull secret " + ref + " of ComposefsImage " + image;
            Secret secret;
            try {
                secret = client.secrets().inNamespace(ref.getNamespace()).withName(ref.getName()).get();
            } catch (KubernetesClientException e) {
                throw new BuildException(what + " cannot be read (HTTP " + e.getCode() + "): grant the kcfs node agent"
                        + " get on secrets in namespace " + ref.getNamespace(), true, e);
            }
            if (secret == null) {
                throw new BuildException(what + " does not exist: create it (type kubernetes.io/dockerconfigjson)"
                        + " or fix spec.source.pullSecrets", true);
            }
            String data = secret.getData() == null ? null : secret.getData().get(KEY);
            if (data == null) {
                throw new BuildException(what + " has no " + KEY + " key: make it a kubernetes.io/dockerconfigjson secret",
                        true);
            }
            try {
                all = all.merge(DockerConfig.parse(Base64.getDecoder().decode(data.trim()), what));
            } catch (IllegalArgumentException e) {
                throw new BuildException(what + ": " + KEY + " is not base64", true, e);
            } catch (OciException e) {
                throw new BuildException(e.getMessage(), true, e);
            }
        }
        return all;
    }
}
