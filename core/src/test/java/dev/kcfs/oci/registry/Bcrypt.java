package dev.kcfs.oci.registry;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.security.SecureRandom;

/**
 * bcrypt hashes for htpasswd files, through glibc's libcrypt (libxcrypt supports {@code $2b$}), so the
 * tests need neither apache2-utils nor a bcrypt library.
 */
final class Bcrypt {
    private static final String ALPHABET =
            "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    interface Crypt extends Library {
        String crypt(String key, String setting);
    }

    private Bcrypt() {}

    static String hash(String password) {
        Crypt lib = Native.load("crypt", Crypt.class);
        SecureRandom r = new SecureRandom();
        StringBuilder salt = new StringBuilder("$2b$05$");
        for (int i = 0; i < 21; i++) {
            salt.append(ALPHABET.charAt(r.nextInt(64)));
        }
        salt.append('.'); // the 22nd character carries only 2 bits; '.' keeps them zero
        String h = lib.crypt(password, salt.toString());
        if (h == null || !h.startsWith("$2b$")) {
            throw new IllegalStateException("libcrypt cannot make bcrypt hashes here: " + h);
        }
        return h;
    }
}
