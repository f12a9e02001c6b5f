package io.vmrdma.cluster.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What the members say of their cluster secrets, so that {@code vmrdma:cluster} shows a host whose secret differs
 * (its frames are refused by the others) without the secret itself leaving the host: the first 4 bytes of SHA-256
 * over it. Of 32 random bytes, 32 bits of a hash tell nothing usable.
 */
final class SecretFingerprint {

    static final String NONE = "none";

    private SecretFingerprint() {
    }

    /** The fingerprint of the secret in {@code file}, or {@link #NONE} when there is none to read. */
    static String of(Path file) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (IOException e) {
            return NONE;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
