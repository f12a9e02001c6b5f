package io.vmrdma.engine.internal.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;

import org.junit.jupiter.api.Test;

/** The test vectors of RFC 5869, appendix A (the SHA-256 cases), byte for byte. */
class HkdfTest {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    private static byte[] range(int from, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    @Test
    void basicCase() {
        byte[] prk = Hkdf.extract(range(0, 13), hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
        assertThat(prk).isEqualTo(hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
        assertThat(Hkdf.expand(prk, range(0xf0, 10), 42)).isEqualTo(hex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
    }

    @Test
    void longerInputsAndOutput() {
        byte[] prk = Hkdf.extract(range(0x60, 80), range(0x00, 80));
        assertThat(prk).isEqualTo(hex("06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244"));
        assertThat(Hkdf.expand(prk, range(0xb0, 80), 82)).isEqualTo(hex(
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
                        + "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"));
    }

    @Test
    void emptySaltAndInfo() {
        byte[] prk = Hkdf.extract(new byte[0], hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
        assertThat(prk).isEqualTo(hex("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"));
        assertThat(Hkdf.expand(prk, new byte[0], 42)).isEqualTo(hex(
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
    }

    @Test
    void everyOrderedPairHasItsOwnKey() {
        FrameKeys keys = new FrameKeys(range(1, 32));
        assertThat(keys.pairKey(1, 2)).isNotEqualTo(keys.pairKey(2, 1)).isNotEqualTo(keys.pairKey(1, 3))
                .isEqualTo(new FrameKeys(range(1, 32)).pairKey(1, 2)).hasSize(FrameKeys.KEY_BYTES);
        assertThat(keys.pairKey(1, 2)).isNotEqualTo(new FrameKeys(range(2, 32)).pairKey(1, 2));
    }
}
