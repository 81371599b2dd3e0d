package dev.kcfs.operator;

import dev.kcfs.api.SecretRef;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.registry.DockerConfig;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Base64;
import java.util.List;

/**
 * Reads the {@code kubernetes.io/dockerconfigjson} Secrets an image points at. Read on demand, not
 * watched: the operator only needs them when it pins a tag, which is rare.
 */
final class PullSecrets {
  /** A pull secret that is missing or unusable; reason is the condition reason. */
  static final class PullSecretException extends Exception {
    private final String reason;

    PullSecretException(String reason, String message) {
      super(message);
      this.reason = reason;
    }

    String reason() {
      return reason;
    }
  }

  static final String DOCKER_CONFIG_KEY = ".dockerconfigjson";

  private final KubernetesClient client;

  PullSecrets(KubernetesClient client) {
    this.client = client;
  }

  /**
   * The logins of all the secrets, in the order listed: for a registry that several secrets name,
   * the first secret's login is used.
   */
  DockerConfig load(List<SecretRef> refs) throws PullSecretException {
    DockerConfig all = DockerConfig.empty();
    if (refs == null) {
      return all;
    }
    for (SecretRef ref : refs) {
      Secret secret;
      try {
        secret = client.secrets().inNamespace(ref.getNamespace()).withName(ref.getName()).get();
      } catch (KubernetesClientException e) {
        throw new PullSecretException("PullSecretUnreadable",
            "pull secret " + ref + " cannot be read (HTTP " + e.getCode() + "): grant the operator get on secrets in "
                + ref.getNamespace());
      }
      if (secret == null) {
        throw new PullSecretException("PullSecretNotFound",
            "pull secret " + ref + " does not exist: create it (type kubernetes.io/dockerconfigjson) or fix spec.source.pullSecrets");
      }
      String data = secret.getData() == null ? null : secret.getData().get(DOCKER_CONFIG_KEY);
      if (data == null) {
        throw new PullSecretException("PullSecretInvalid",
            "pull secret " + ref + " has no " + DOCKER_CONFIG_KEY + " key: make it a kubernetes.io/dockerconfigjson secret");
      }
      DockerConfig config;
      try {
        config = DockerConfig.parse(Base64.getDecoder().decode(data), "pull secret " + ref + " key " + DOCKER_CONFIG_KEY);
      } catch (IllegalArgumentException e) {
        throw new PullSecretException("PullSecretInvalid",
            "pull secret " + ref + ": " + DOCKER_CONFIG_KEY + " is not base64 (" + e.getMessage() + ")");
      } catch (OciException e) {
        throw new PullSecretException("PullSecretInvalid", e.getMessage());
      }
      if (config.isEmpty()) {
        // Most likely a typo in the document: say so rather than failing later with Unauthorized.
        throw new PullSecretException("PullSecretInvalid", "pull secret " + ref + ": " + DOCKER_CONFIG_KEY
            + " has no registry login (expected {\"auths\": {\"host\": {\"auth\": \"base64(user:password)\"}}})");
      }
      all = all.merge(config);
    }
    return all;
  }
}
