package dev.kcfs.kube;

import dev.kcfs.api.SecretRef;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Base64;
import java.util.List;

/**
 * Reads the {@code kubernetes.io/dockerconfigjson} Secrets a ComposefsImage points at, for the
 * operator (to pin a tag) and the node agents (to pull). Read on demand, not watched: both need
 * them rarely, and the node's RBAC allows reading only the secrets it is pointed at. Every failure
 * says which secret and what to do.
 */
public final class PullSecrets {
    /** A pull secret that is missing or unusable; reason is the condition reason. */
    public static final class PullSecretException extends Exception {
        private final String reason;

        PullSecretException(String reason, String message) {
            super(message);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    public static final String DOCKER_CONFIG_KEY = ".dockerconfigjson";

    private final KubernetesClient client;
    private final String reader;

    /** @param reader who reads them, for messages: "the operator", "the kcfs node agent" */
    public PullSecrets(KubernetesClient client, String reader) {
        this.client = client;
        this.reader = reader;
    }

    /**
     * The logins of all the secrets of ComposefsImage {@code imageName}, in the order listed: for a
     * registry that several secrets name, the first secret's login is used.
     */
    public DockerConfig load(String imageName, List<SecretRef> refs) throws PullSecretException {
        DockerConfig all = DockerConfig.empty();
        if (refs == null) {
            return all;
        }
        for (SecretRef ref : refs) {
            String what = "pull secret " + ref + " of ComposefsImage " + imageName;
            Secret secret;
            try {
                secret =
                        client.secrets()
                                .inNamespace(ref.getNamespace())
                                .withName(ref.getName())
                                .get();
            } catch (KubernetesClientException e) {
                throw new PullSecretException(
                        "PullSecretUnreadable",
                        what
                                + " cannot be read (HTTP "
                                + e.getCode()
                                + "): grant "
                                + reader
                                + " get on secrets in "
                                + ref.getNamespace());
            }
            if (secret == null) {
                throw new PullSecretException(
                        "PullSecretNotFound",
                        what
                                + " does not exist: create it (type kubernetes.io/dockerconfigjson) or fix spec.source.pullSecrets");
            }
            String data = secret.getData() == null ? null : secret.getData().get(DOCKER_CONFIG_KEY);
            if (data == null) {
                throw new PullSecretException(
                        "PullSecretInvalid",
                        what
                                + " has no "
                                + DOCKER_CONFIG_KEY
                                + " key: make it a kubernetes.io/dockerconfigjson secret");
            }
            DockerConfig config;
            try {
                config =
                        DockerConfig.parse(
                                Base64.getDecoder().decode(data),
                                what + " key " + DOCKER_CONFIG_KEY);
            } catch (IllegalArgumentException e) {
                throw new PullSecretException(
                        "PullSecretInvalid",
                        what
                                + ": "
                                + DOCKER_CONFIG_KEY
                                + " is not base64 ("
                                + e.getMessage()
                                + ")");
            } catch (OciException e) {
                throw new PullSecretException("PullSecretInvalid", e.getMessage());
            }
            if (config.isEmpty()) {
                // Most likely a typo in the document: say so rather than failing later with
                // Unauthorized.
                throw new PullSecretException(
                        "PullSecretInvalid",
                        what
                                + ": "
                                + DOCKER_CONFIG_KEY
                                + " has no registry login (expected {\"auths\": {\"host\": {\"auth\": \"base64(user:password)\"}}})");
            }
            all = all.merge(config);
        }
        return all;
    }
}
