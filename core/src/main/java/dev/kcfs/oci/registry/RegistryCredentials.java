package dev.kcfs.oci.registry;

/**
 * A user name and secret for one registry. {@code identityToken} (docker's OAuth refresh token) is
 * carried but sent as the password of the token request, as docker does for Basic token realms.
 */
public record RegistryCredentials(String username, String password) {
    @Override
    public String toString() {
        return "RegistryCredentials[" + username + ", ****]";
    }
}
