package io.vmrdma.benchmarks;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.auth.FrameTagger;
import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What sealing one WRITE frame costs with each candidate for frame integrity (docs/security.md, "Host on the wire"):
 * the two CRC32Cs of auth = off; the HMAC-SHA256 tag the engine uses with auth = on (its header CRC, then
 * {@link FrameTagger}); AES-GCM as GMAC (the frame as additional data, no plaintext: the JDK wants a new IV object and
 * an init per frame, since it refuses an IV twice for encryption); and AES-GCM encrypting the payload (tag and
 * confidentiality, the AES-NI/VAES path of JDK 17). Receiving costs the same pass again. Payload sizes: a small
 * message, a 1500 MTU frame, a 9000 MTU frame.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class FrameAuthBenchmark {

    private static final int HEADER = FrameType.WRITE.headerLength();

    @Param({"64", "1400", "8900"})
    public int payloadBytes;

    private final FrameCheck check = new FrameCheck();
    private FrameTagger tagger;
    private FrameTagger hmac;
    private ByteBuffer frame;
    private ByteBuffer ciphertext;
    private Cipher gcm;
    private SecretKeySpec aesKey;
    private final byte[] iv = new byte[12];
    private final byte[] tag = new byte[16];
    private long counter;

    @Setup
    public void setUp() throws GeneralSecurityException {
        FrameKeys keys = new FrameKeys("a benchmark cluster's secret....".getBytes(StandardCharsets.US_ASCII));
        tagger = keys.tagger(1, 2);
        hmac = new FrameKeys("a benchmark cluster's secret....".getBytes(StandardCharsets.US_ASCII),
                FrameKeys.HMAC_SHA256).tagger(1, 2);
        frame = ByteBuffer.allocateDirect(HEADER + payloadBytes + AuthTrailer.LENGTH);
        ciphertext = ByteBuffer.allocateDirect(HEADER + payloadBytes + AuthTrailer.LENGTH);
        byte[] bytes = new byte[frame.capacity()];
        new Random(1).nextBytes(bytes);
        frame.put(0, bytes);
        gcm = Cipher.getInstance("AES/GCM/NoPadding");
        aesKey = new SecretKeySpec(keys.pairKey(1, 2), "AES");
    }

    /** auth = off: header CRC and payload CRC. */
    @Benchmark
    public ByteBuffer crc32c() {
        check.seal(frame, 0, HEADER, payloadBytes);
        return frame;
    }

    /** auth = on as shipped: header CRC, then epoch, counter and the GMAC tag through OpenSSL's libcrypto. */
    @Benchmark
    public ByteBuffer engineGmac() {
        check.sealHeader(frame, 0, HEADER);
        tagger.seal(frame, 0, HEADER + payloadBytes, 7, ++counter);
        return frame;
    }

    /** The tag shipped before: HMAC-SHA256 over everything before it, truncated to 16 bytes. */
    @Benchmark
    public ByteBuffer hmacSha256() {
        check.sealHeader(frame, 0, HEADER);
        hmac.seal(frame, 0, HEADER + payloadBytes, 7, ++counter);
        return frame;
    }

    /** GMAC in the JDK: AES-GCM with the whole frame as additional data and nothing to encrypt. */
    @Benchmark
    public byte[] gmac() throws GeneralSecurityException {
        check.sealHeader(frame, 0, HEADER);
        nextIv();
        gcm.init(Cipher.ENCRYPT_MODE, aesKey, new GCMParameterSpec(128, iv));
        frame.clear().limit(HEADER + payloadBytes + AuthTrailer.TAG_OFFSET);
        gcm.updateAAD(frame);
        gcm.doFinal(tag, 0);
        return tag;
    }

    /** AES-GCM encrypting the payload into the frame to send, the header as additional data. */
    @Benchmark
    public ByteBuffer aesGcmEncrypt() throws GeneralSecurityException {
        check.sealHeader(frame, 0, HEADER);
        nextIv();
        gcm.init(Cipher.ENCRYPT_MODE, aesKey, new GCMParameterSpec(128, iv));
        frame.clear().limit(HEADER);
        gcm.updateAAD(frame);
        frame.limit(HEADER + payloadBytes).position(HEADER);
        ciphertext.clear().position(HEADER);
        gcm.doFinal(frame, ciphertext);
        return ciphertext;
    }

    private void nextIv() {
        long c = ++counter;
        for (int i = 0; i < 8; i++) {
            iv[4 + i] = (byte) (c >>> (8 * i));
        }
    }
}
