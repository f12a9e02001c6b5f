package io.vmrdma.engine.internal.auth;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Frame;

/**
 * The alternative to the engine's HMAC-SHA256 tag, for benchmarks only (published in the engine's test jar): AES-256-GCM
 * as GMAC, the frame up to the tag as additional data and nothing encrypted, the IV the trailer's epoch and counter
 * (16 bytes, unique while epochs are). The JDK refuses an IV twice for encryption, so every frame needs a new
 * parameter object and an init; a frame whose IV this instance just used (a replay) fails here as a bad tag.
 */
public final class GmacTagger implements FrameTagger {

    /** Makes GMAC taggers, for {@link FrameKeys#FrameKeys(byte[], FrameKeys.TaggerFactory)}. */
    public static final FrameKeys.TaggerFactory FACTORY = GmacTagger::new;

    private final Cipher gcm;
    private final SecretKeySpec key;
    private final byte[] iv = new byte[16];
    private final byte[] tag = new byte[AuthTrailer.TAG_LENGTH];
    private ByteBuffer viewed;
    private ByteBuffer view;

    private GmacTagger(byte[] pairKey) {
        try {
            gcm = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM is not available", e);
        }
        key = new SecretKeySpec(pairKey, "AES");
    }

    @Override
    public void seal(ByteBuffer buffer, int at, int frameLength, long epoch, long counter) {
        viewOf(buffer);
        int trailer = at + frameLength;
        view.putLong(trailer + AuthTrailer.EPOCH_OFFSET, epoch);
        view.putLong(trailer + AuthTrailer.COUNTER_OFFSET, counter);
        if (!compute(at, frameLength + AuthTrailer.TAG_OFFSET)) {
            throw new IllegalStateException("GMAC over a frame failed");
        }
        view.clear();
        view.put(trailer + AuthTrailer.TAG_OFFSET, tag);
    }

    @Override
    public boolean verify(ByteBuffer buffer, int at, int coveredLength) {
        viewOf(buffer);
        if (!compute(at, coveredLength)) {
            return false;
        }
        view.clear();
        int difference = 0;
        for (int i = 0; i < tag.length; i++) {
            difference |= tag[i] ^ view.get(at + coveredLength + i);
        }
        return difference == 0;
    }

    /** GMAC of the {@code length} bytes at {@code at}, the last 16 of which are the epoch and counter (the IV). */
    private boolean compute(int at, int length) {
        view.clear();
        view.get(at + length - AuthTrailer.TAG_OFFSET + AuthTrailer.EPOCH_OFFSET, iv, 0, 16);
        try {
            gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
            view.limit(at + length).position(at);
            gcm.updateAAD(view);
            gcm.doFinal(tag, 0);
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private void viewOf(ByteBuffer buffer) {
        if (buffer != viewed) {
            viewed = buffer;
            view = buffer.duplicate().order(Frame.ORDER);
        }
        view.clear();
    }
}
