package io.vmrdma.engine.internal.auth;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import org.agrona.BufferUtil;

/**
 * AES-256-GCM used as GMAC through OpenSSL's libcrypto (Debian's {@code libcrypto.so.3}), called through JNA direct
 * mapping with addresses as {@code long}, so a frame costs four native calls and no Java allocation. On this
 * machine's VAES and VPCLMULQDQ instructions it tags an 8900-byte frame in about 1.1 µs, a quarter of what the
 * JDK's HMAC-SHA256 or GCM take (docs/performance.md).
 *
 * <p>Each thread that tags gets its own two cipher contexts (sealing and checking), which remember the key they
 * were last given: the data agent tags with few keys, so a key schedule is rare. The contexts are freed when the
 * thread's context holder is collected.
 */
final class OpenSslGcm {

    private static final int EVP_CTRL_GCM_GET_TAG = 0x10;
    private static final int EVP_CTRL_GCM_SET_TAG = 0x11;
    /** Whether libcrypto 3 could be loaded; when it cannot, {@link GmacTagger} computes the same tags in the JDK. */
    static final boolean AVAILABLE = load();
    private static final Cleaner CLEANER = Cleaner.create();
    private static final ThreadLocal<Contexts> CONTEXTS = ThreadLocal.withInitial(Contexts::new);

    private OpenSslGcm() {
    }

    private static boolean load() {
        try {
            Native.register(OpenSslGcm.class, NativeLibrary.getInstance("libcrypto.so.3"));
            return true;
        } catch (LinkageError | RuntimeException e) {
            // No libcrypto 3, or no JNA on a plain classpath (a JVM outside Karaf): the JDK computes the tags.
            return false;
        }
    }

    /**
     * The GMAC tag under {@code key} with IV {@code counter || 0^32} over {@code length} bytes at native address
     * {@code aad}, written to {@code tag} (16 bytes, native).
     */
    static void tag(byte[] key, long counter, long aad, int length, long tag) {
        Contexts c = CONTEXTS.get();
        c.seal.use(key, true);
        c.ivFor(counter);
        check(EVP_EncryptInit_ex(c.seal.ctx, 0, 0, 0, c.iv), "EVP_EncryptInit_ex");
        check(EVP_EncryptUpdate(c.seal.ctx, 0, c.length, aad, length), "EVP_EncryptUpdate");
        check(EVP_EncryptFinal_ex(c.seal.ctx, c.out, c.length), "EVP_EncryptFinal_ex");
        check(EVP_CIPHER_CTX_ctrl(c.seal.ctx, EVP_CTRL_GCM_GET_TAG, GmacTagger.TAG_BYTES, tag), "GET_TAG");
    }

    /** Whether {@code tag} (16 bytes, native) is the GMAC tag of those bytes; OpenSSL compares in constant time. */
    static boolean verify(byte[] key, long counter, long aad, int length, long tag) {
        Contexts c = CONTEXTS.get();
        c.check.use(key, false);
        c.ivFor(counter);
        check(EVP_DecryptInit_ex(c.check.ctx, 0, 0, 0, c.iv), "EVP_DecryptInit_ex");
        check(EVP_DecryptUpdate(c.check.ctx, 0, c.length, aad, length), "EVP_DecryptUpdate");
        check(EVP_CIPHER_CTX_ctrl(c.check.ctx, EVP_CTRL_GCM_SET_TAG, GmacTagger.TAG_BYTES, tag), "SET_TAG");
        return EVP_DecryptFinal_ex(c.check.ctx, c.out, c.length) > 0;
    }

    private static void check(int result, String call) {
        if (result != 1) {
            throw new IllegalStateException("libcrypto " + call + " failed");
        }
    }

    /** One thread's contexts and the native scratch they write IVs, lengths and output to. */
    private static final class Contexts {
        final Context seal = new Context();
        final Context check = new Context();
        final ByteBuffer scratch = ByteBuffer.allocateDirect(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        final long iv = BufferUtil.address(scratch);
        final long length = iv + 16;
        final long out = iv + 32;

        Contexts() {
            long s = seal.ctx;
            long k = check.ctx;
            CLEANER.register(this, () -> {
                EVP_CIPHER_CTX_free(s);
                EVP_CIPHER_CTX_free(k);
            });
        }

        void ivFor(long counter) {
            scratch.putLong(0, counter);
            scratch.putInt(8, 0);
        }
    }

    /** A cipher context and the key it holds. */
    private static final class Context {
        final long ctx = EVP_CIPHER_CTX_new();
        private final ByteBuffer keyBuffer = ByteBuffer.allocateDirect(32);
        private byte[] key;

        Context() {
            if (ctx == 0) {
                throw new IllegalStateException("libcrypto EVP_CIPHER_CTX_new failed");
            }
        }

        /** Gives the context {@code k} unless it holds it already (the same array: keys are never changed in place). */
        void use(byte[] k, boolean encrypt) {
            if (k == key) {
                return;
            }
            keyBuffer.put(0, k);
            long address = BufferUtil.address(keyBuffer);
            int result = encrypt ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), 0, address, 0)
                    : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), 0, address, 0);
            check(result, "EVP_CipherInit_ex (key)");
            key = k;
        }
    }

    private static native long EVP_CIPHER_CTX_new();

    private static native void EVP_CIPHER_CTX_free(long ctx);

    private static native long EVP_aes_256_gcm();

    private static native int EVP_EncryptInit_ex(long ctx, long cipher, long engine, long key, long iv);

    private static native int EVP_DecryptInit_ex(long ctx, long cipher, long engine, long key, long iv);

    private static native int EVP_EncryptUpdate(long ctx, long out, long outLength, long in, int inLength);

    private static native int EVP_DecryptUpdate(long ctx, long out, long outLength, long in, int inLength);

    private static native int EVP_EncryptFinal_ex(long ctx, long out, long outLength);

    private static native int EVP_DecryptFinal_ex(long ctx, long out, long outLength);

    private static native int EVP_CIPHER_CTX_ctrl(long ctx, int type, int arg, long pointer);
}
