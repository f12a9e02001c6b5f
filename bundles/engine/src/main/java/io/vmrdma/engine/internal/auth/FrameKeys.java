package io.vmrdma.engine.internal.auth;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The key schedule of a cluster (docs/wire-protocol.md §8): one pseudorandom key extracted from the cluster secret,
 * and from it one key per ordered pair of nodes, so a frame tagged for one receiver is refused by every other and
 * a frame sent back to its sender (reflected) fails too.
 *
 * <pre>
 *   PRK            = HKDF-Extract(salt = "vmrdma cluster secret v1", IKM = the secret file's bytes)
 *   K(src -&gt; dst) = HKDF-Expand(PRK, info = "vmrdma frame key v1" | src u16 LE | dst u16 LE, 32 bytes)
 * </pre>
 *
 * A discovery HELLO names no receiver: it is tagged with K(src -&gt; 0xFFFF).
 */
public final class FrameKeys {

    static final byte[] SALT = "vmrdma cluster secret v1".getBytes(StandardCharsets.US_ASCII);
    static final byte[] INFO = "vmrdma frame key v1".getBytes(StandardCharsets.US_ASCII);
    public static final int KEY_BYTES = 32;

    /** Makes the tagger of one pair key (32 bytes, which it copies: the caller clears them after). */
    @FunctionalInterface
    public interface TaggerFactory {
        FrameTagger tagger(byte[] pairKey);
    }

    /** The engine's tag: GMAC under a key per pair of nodes and sender's epoch ({@link GmacTagger}). */
    public static final TaggerFactory GMAC = GmacTagger::new;
    /** HMAC-SHA256 truncated to 16 bytes: what the engine tagged with before GMAC, kept for the benchmarks. */
    public static final TaggerFactory HMAC_SHA256 = HmacTagger::new;

    private final byte[] prk;
    private final TaggerFactory factory;

    /** The keys of the cluster whose secret is {@code secret} (the bytes of the secret file), tagging with GMAC. */
    public FrameKeys(byte[] secret) {
        this(secret, GMAC);
    }

    /** As above, tagging with what {@code factory} makes: for benchmarks of other primitives. */
    public FrameKeys(byte[] secret, TaggerFactory factory) {
        if (secret.length < ClusterSecret.MIN_BYTES) {
            throw new IllegalArgumentException("a cluster secret has at least " + ClusterSecret.MIN_BYTES + " bytes");
        }
        this.prk = Hkdf.extract(SALT, secret);
        this.factory = factory;
    }

    /** K(src -&gt; dst): the key of frames {@code src} sends to {@code dst}. */
    public byte[] pairKey(int src, int dst) {
        byte[] info = Arrays.copyOf(INFO, INFO.length + 4);
        info[INFO.length] = (byte) src;
        info[INFO.length + 1] = (byte) (src >>> 8);
        info[INFO.length + 2] = (byte) dst;
        info[INFO.length + 3] = (byte) (dst >>> 8);
        return Hkdf.expand(prk, info, KEY_BYTES);
    }

    /** A tagger under K(src -&gt; dst). */
    public FrameTagger tagger(int src, int dst) {
        byte[] key = pairKey(src, dst);
        FrameTagger tagger = factory.tagger(key);
        Arrays.fill(key, (byte) 0);
        return tagger;
    }
}
