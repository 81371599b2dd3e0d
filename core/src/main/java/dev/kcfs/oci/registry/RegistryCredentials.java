package dev.kcfs.oci.registry;

/**
 * A user name and secret for one registry, sent as Basic credentials to the registry or its token
 * realm.
 */
public record RegistryCredentials(String username, String password) {
    @Override
    public String toString() {
        return "RegistryCredentials[" + username + ", ****]";
    }
}
