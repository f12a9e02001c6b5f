package io.vmrdma.engine.internal.auth;

import java.security.GeneralSecurityException;
import java.util.Arrays;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HKDF (RFC 5869) over HMAC-SHA256, which JDK 17 lacks: extract a pseudorandom key from input keying material, then
 * expand it into keys bound to an {@code info} string. Used when keys are made (start, new peer), never per frame.
 */
public final class Hkdf {

    static final String HMAC = "HmacSHA256";
    static final int HASH_LENGTH = 32;

    private Hkdf() {
    }

    /** HKDF-Extract: PRK = HMAC-SHA256(salt, ikm); an empty salt stands for 32 zero bytes, as the RFC says. */
    public static byte[] extract(byte[] salt, byte[] ikm) {
        return hmac(salt.length == 0 ? new byte[HASH_LENGTH] : salt, ikm);
    }

    /** HKDF-Expand: the first {@code length} bytes of T(1) | T(2) | ..., T(i) = HMAC(prk, T(i-1) | info | i). */
    public static byte[] expand(byte[] prk, byte[] info, int length) {
        if (length < 0 || length > 255 * HASH_LENGTH) {
            throw new IllegalArgumentException(
                    "HKDF output of " + length + " bytes (at most " + 255 * HASH_LENGTH + ")");
        }
        Mac mac = mac(prk);
        byte[] out = new byte[length];
        byte[] previous = new byte[0];
        for (int i = 1, done = 0; done < length; i++) {
            mac.update(previous);
            mac.update(info);
            mac.update((byte) i);
            previous = mac.doFinal();
            int n = Math.min(HASH_LENGTH, length - done);
            System.arraycopy(previous, 0, out, done, n);
            done += n;
        }
        Arrays.fill(previous, (byte) 0);
        return out;
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        return mac(key).doFinal(data);
    }

    /** A fresh HMAC-SHA256 under {@code key}. */
    static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac;
        } catch (GeneralSecurityException e) {
            // Every Java SE runtime provides HmacSHA256 and accepts any key length for it.
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
