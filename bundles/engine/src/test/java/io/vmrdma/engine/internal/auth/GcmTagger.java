package io.vmrdma.engine.internal.auth;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;

/**
 * The alternatives to the engine's HMAC-SHA256 tag, for benchmarks only (published in the engine's test jar), both
 * AES-256-GCM with the trailer's epoch and counter as the IV (16 bytes), a new parameter object and init per frame
 * (the JDK refuses an IV twice for encryption):
 * <ul>
 * <li>{@link #GMAC}: nothing encrypted, the frame up to the tag as additional data;</li>
 * <li>{@link #ENCRYPTING}: the payload encrypted in place, header, epoch and counter as additional data; the
 * trailer is left as the engine expects it, and {@link #verify} decrypts the payload in the receive buffer before the
 * engine reads it. JDK 17 runs GCM on VAES and VPCLMULQDQ when it encrypts data, far faster than GHASH over
 * additional data alone.</li>
 * </ul>
 * A frame whose IV an instance just used (a replay) fails here as a bad tag.
 */
public final class GcmTagger implements FrameTagger {

    public static final FrameKeys.TaggerFactory GMAC = key -> new GcmTagger(key, false);
    public static final FrameKeys.TaggerFactory ENCRYPTING = key -> new GcmTagger(key, true);

    private final boolean encrypting;
    private final Cipher gcm;
    private final SecretKeySpec key;
    private final byte[] iv = new byte[16];
    private final byte[] tag = new byte[AuthTrailer.TAG_LENGTH];
    private ByteBuffer viewed;
    private ByteBuffer in;
    private ByteBuffer out;

    private GcmTagger(byte[] pairKey, boolean encrypting) {
        this.encrypting = encrypting;
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
        in.putLong(trailer + AuthTrailer.EPOCH_OFFSET, epoch);
        in.putLong(trailer + AuthTrailer.COUNTER_OFFSET, counter);
        int start = encrypting ? at + headerLength(at) : trailer;
        try {
            init(Cipher.ENCRYPT_MODE, at, start, trailer);
            // Ciphertext (if any) in place, then the tag right after it, where epoch and counter are: moved below.
            in.limit(trailer).position(start);
            out.limit(trailer + AuthTrailer.TAG_LENGTH).position(start);
            gcm.doFinal(in, out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM over a frame failed", e);
        }
        in.clear();
        in.get(trailer, tag);
        restoreTrailer(trailer, epoch, counter);
    }

    @Override
    public boolean verify(ByteBuffer buffer, int at, int coveredLength) {
        viewOf(buffer);
        int trailer = at + coveredLength - AuthTrailer.TAG_OFFSET;
        long epoch = in.getLong(trailer + AuthTrailer.EPOCH_OFFSET);
        long counter = in.getLong(trailer + AuthTrailer.COUNTER_OFFSET);
        int start = encrypting ? at + headerLength(at) : trailer;
        boolean good;
        try {
            init(Cipher.DECRYPT_MODE, at, start, trailer);
            // GCM wants the tag right after the ciphertext: it goes there for the call, the trailer back after.
            in.clear();
            in.get(trailer + AuthTrailer.TAG_OFFSET, tag);
            in.put(trailer, tag);
            in.limit(trailer + AuthTrailer.TAG_LENGTH).position(start);
            out.limit(trailer).position(start);
            gcm.doFinal(in, out);
            good = true;
        } catch (GeneralSecurityException e) {
            good = false;
        }
        restoreTrailer(trailer, epoch, counter);
        return good;
    }

    /** Inits for one frame: the IV from its trailer; as additional data what precedes {@code start}, epoch, counter. */
    private void init(int mode, int at, int start, int trailer) throws GeneralSecurityException {
        in.clear();
        in.get(trailer + AuthTrailer.EPOCH_OFFSET, iv, 0, 16);
        gcm.init(mode, key, new GCMParameterSpec(128, iv));
        in.limit(start).position(at);
        gcm.updateAAD(in);
        in.limit(trailer + AuthTrailer.TAG_OFFSET).position(trailer);
        gcm.updateAAD(in);
    }

    private void restoreTrailer(int trailer, long epoch, long counter) {
        in.clear();
        in.putLong(trailer + AuthTrailer.EPOCH_OFFSET, epoch);
        in.putLong(trailer + AuthTrailer.COUNTER_OFFSET, counter);
        in.put(trailer + AuthTrailer.TAG_OFFSET, tag);
    }

    private int headerLength(int at) {
        FrameType type = FrameType.ofCode(in.get(at + Frame.TYPE_OFFSET));
        return type == null ? Frame.BASE_LENGTH : type.headerLength();
    }

    private void viewOf(ByteBuffer buffer) {
        if (buffer != viewed) {
            viewed = buffer;
            in = buffer.duplicate().order(Frame.ORDER);
            out = buffer.duplicate().order(Frame.ORDER);
        }
        in.clear();
        out.clear();
    }
}
