package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.function.IntPredicate;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

import org.agrona.collections.IntHashSet;

/**
 * Unpredictable identifiers (memory keys, queue pair numbers): non-zero values of {@code bits} bits, unique among
 * live ones, and never handed out again while they are among the last {@code quarantine} released. A peer that
 * guesses or remembers an identifier of another tenant therefore hits nothing, or at worst a fresh object of the
 * same owner, never a recycled one.
 *
 * <p>The values are AES-128 under a secret key applied to a counter: a keyed pseudo-random permutation. Seeing any
 * number of them tells nothing about the next (a generator such as {@code SplittableRandom} gives its whole state
 * away in one pair of outputs); only the key would, and it never leaves this object.
 */
final class KeyGenerator {

    private static final int BLOCK = 16;
    /** Draws before giving up: with a space at most half full, the chance that all of them hit is below 2^-4096. */
    static final int MAX_DRAWS = 4096;

    private final Cipher aes;
    private final int mask;
    private final ByteBuffer counterBlock = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer output = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    private long counter;
    private final int[] recentlyReleased;
    private final IntHashSet quarantined;
    private int nextSlot;

    /** Identifiers under a key from the operating system's entropy. */
    KeyGenerator(int quarantine, int bits) {
        this(secret(), quarantine, bits);
    }

    /** Identifiers under a key derived from {@code seed}: the same sequence every time, for reproducible tests. */
    KeyGenerator(long seed, int quarantine, int bits) {
        this(keyFromSeed(seed), quarantine, bits);
    }

    private KeyGenerator(byte[] key, int quarantine, int bits) {
        if (bits < 8 || bits > 32) {
            throw new IllegalArgumentException("identifiers of 8..32 bits, not " + bits);
        }
        mask = bits == 32 ? -1 : (1 << bits) - 1;
        try {
            aes = Cipher.getInstance("AES/ECB/NoPadding");
            aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES is part of every Java 17 runtime", e);
        }
        recentlyReleased = new int[quarantine];
        quarantined = new IntHashSet(quarantine * 2);
        output.position(BLOCK);
    }

    /**
     * A fresh identifier for which {@code inUse} is false.
     *
     * @throws IllegalStateException when {@value #MAX_DRAWS} draws found none free: the space is nearly full
     */
    int next(IntPredicate inUse) {
        for (int draw = 0; draw < MAX_DRAWS; draw++) {
            int value = nextValue() & mask;
            if (value != 0 && !inUse.test(value) && !quarantined.contains(value)) {
                return value;
            }
        }
        throw new IllegalStateException("no free identifier of " + Integer.bitCount(mask) + " bits in " + MAX_DRAWS
                + " draws");
    }

    /** Records that {@code value} is no longer in use; it stays unused for the next {@code quarantine} releases. */
    void release(int value) {
        int evicted = recentlyReleased[nextSlot];
        if (evicted != 0) {
            quarantined.remove(evicted);
        }
        recentlyReleased[nextSlot] = value;
        quarantined.add(value);
        nextSlot = (nextSlot + 1) % recentlyReleased.length;
    }

    /** The next 32 bits of the keyed stream: one AES block gives four. */
    private int nextValue() {
        if (output.remaining() < Integer.BYTES) {
            counterBlock.putLong(0, counter++);
            try {
                aes.doFinal(counterBlock.array(), 0, BLOCK, output.array(), 0);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES on one block cannot fail", e);
            }
            output.clear();
        }
        return output.getInt();
    }

    private static byte[] secret() {
        byte[] key = new byte[BLOCK];
        new SecureRandom().nextBytes(key);
        return key;
    }

    private static byte[] keyFromSeed(long seed) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(ByteBuffer.allocate(Long.BYTES).putLong(seed).array());
            byte[] key = new byte[BLOCK];
            System.arraycopy(digest, 0, key, 0, BLOCK);
            return key;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is part of every Java 17 runtime", e);
        }
    }
}
