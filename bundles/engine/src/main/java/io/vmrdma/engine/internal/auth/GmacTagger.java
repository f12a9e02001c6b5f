package io.vmrdma.engine.internal.auth;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Frame;
import org.agrona.BufferUtil;

/**
 * The tag the engine uses (docs/wire-protocol.md §8): GMAC, that is AES-256-GCM with the frame as additional data and
 * nothing encrypted, under a key for the pair of nodes and the sender's epoch, with the sender's frame counter as the
 * IV. A counter is never used twice within an epoch, and every epoch has its own key, so no IV repeats under a key,
 * which GCM's security rests on.
 *
 * <pre>
 *   K_e = HKDF-Expand(K(src -&gt; dst), "vmrdma gmac epoch key v1" | epoch u64 LE, 32)
 *   IV  = counter u64 LE | 00 00 00 00
 *   tag = GMAC(K_e, IV, every byte before the tag: header, payload, epoch, counter)
 * </pre>
 *
 * Computed through OpenSSL's libcrypto ({@link OpenSslGcm}) for frames in direct buffers, as every NIC binding's
 * are; otherwise, and on a host without libcrypto 3, through the JDK's AES-GCM, which gives the same tag slower.
 */
final class GmacTagger implements FrameTagger {

    static final int TAG_BYTES = AuthTrailer.TAG_LENGTH;
    static final byte[] EPOCH_INFO = "vmrdma gmac epoch key v1".getBytes(StandardCharsets.US_ASCII);

    private final byte[] pairKey;
    private long epoch;
    private byte[] epochKey;
    private ByteBuffer view;
    private ByteBuffer viewed;
    private Cipher jdk;

    GmacTagger(byte[] pairKey) {
        this.pairKey = pairKey.clone();
    }

    @Override
    public void seal(ByteBuffer buffer, int at, int frameLength, long epoch, long counter) {
        int covered = frameLength + AuthTrailer.TAG_OFFSET;
        if (!fits(buffer, at, covered)) {
            throw new IllegalArgumentException("frame of " + frameLength + " bytes at " + at + " and its trailer pass "
                    + "the buffer's " + buffer.capacity());
        }
        ByteBuffer v = viewOf(buffer);
        int trailer = at + frameLength;
        v.putLong(trailer + AuthTrailer.EPOCH_OFFSET, epoch);
        v.putLong(trailer + AuthTrailer.COUNTER_OFFSET, counter);
        byte[] key = keyFor(epoch);
        if (OpenSslGcm.AVAILABLE && buffer.isDirect()) {
            long address = BufferUtil.address(buffer) + at;
            OpenSslGcm.tag(key, counter, address, covered, address + covered);
        } else {
            v.put(at + covered, jdk(Cipher.ENCRYPT_MODE, key, counter, v, at, covered, null));
        }
    }

    @Override
    public boolean verify(ByteBuffer buffer, int at, int coveredLength) {
        if (coveredLength < AuthTrailer.TAG_OFFSET || !fits(buffer, at, coveredLength)) {
            return false;
        }
        ByteBuffer v = viewOf(buffer);
        int trailer = at + coveredLength - AuthTrailer.TAG_OFFSET;
        long counter = v.getLong(trailer + AuthTrailer.COUNTER_OFFSET);
        long e = v.getLong(trailer + AuthTrailer.EPOCH_OFFSET);
        if (epochKey != null && e == epoch) {
            return verify(epochKey, counter, buffer, v, at, coveredLength);
        }
        // Another epoch: a restarted peer, or anyone writing any epoch into a forged frame. Its key is kept only once
        // a tag under it matched, so forged frames cannot evict the peer's key and make every real frame derive it.
        byte[] candidate = derive(e);
        if (!verify(candidate, counter, buffer, v, at, coveredLength)) {
            return false;
        }
        epoch = e;
        epochKey = candidate;
        return true;
    }

    private boolean verify(byte[] key, long counter, ByteBuffer buffer, ByteBuffer v, int at, int coveredLength) {
        if (OpenSslGcm.AVAILABLE && buffer.isDirect()) {
            long address = BufferUtil.address(buffer) + at;
            return OpenSslGcm.verify(key, counter, address, coveredLength, address + coveredLength);
        }
        byte[] tag = new byte[TAG_BYTES];
        v.get(at + coveredLength, tag);
        return jdk(Cipher.DECRYPT_MODE, key, counter, v, at, coveredLength, tag) != null;
    }

    /** The epoch whose key is kept (for the tests of what may replace it). */
    long keptEpoch() {
        return epoch;
    }

    private static boolean fits(ByteBuffer buffer, int at, int covered) {
        return at >= 0 && covered >= 0 && (long) at + covered + TAG_BYTES <= buffer.capacity();
    }

    /** The sealing epoch's key: derived once per epoch (this node's own, fixed for its run). */
    private byte[] keyFor(long e) {
        if (epochKey == null || e != epoch) {
            epochKey = derive(e);
            epoch = e;
        }
        return epochKey;
    }

    private byte[] derive(long e) {
        byte[] info = Arrays.copyOf(EPOCH_INFO, EPOCH_INFO.length + Long.BYTES);
        for (int i = 0; i < Long.BYTES; i++) {
            info[EPOCH_INFO.length + i] = (byte) (e >>> (8 * i));
        }
        return Hkdf.expand(pairKey, info, FrameKeys.KEY_BYTES);
    }

    /**
     * The JDK's AES-GCM over the same bytes: sealing encrypts the empty message and returns the tag; checking
     * decrypts the empty message with {@code tag} and returns an empty array, or null when the tag is not theirs.
     * (Checking decrypts because the JDK refuses to encrypt twice under one key and IV, as a replayed frame would.)
     */
    private byte[] jdk(int mode, byte[] key, long counter, ByteBuffer v, int at, int length, byte[] tag) {
        byte[] iv = new byte[12];
        for (int i = 0; i < Long.BYTES; i++) {
            iv[i] = (byte) (counter >>> (8 * i));
        }
        try {
            if (jdk == null) {
                jdk = Cipher.getInstance("AES/GCM/NoPadding");
            }
            jdk.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(8 * TAG_BYTES, iv));
            v.clear().position(at).limit(at + length);
            jdk.updateAAD(v);
            v.clear();
            return tag == null ? jdk.doFinal() : jdk.doFinal(tag);
        } catch (AEADBadTagException e) {
            return null;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every Java 17 runtime", e);
        }
    }

    private ByteBuffer viewOf(ByteBuffer buffer) {
        if (buffer != viewed) {
            viewed = buffer;
            view = buffer.duplicate().order(Frame.ORDER);
        }
        view.clear();
        return view;
    }
}
