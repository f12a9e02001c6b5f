package io.vmrdma.engine.internal.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte counts and rates as operators write them: {@code 100M}, {@code 1.5G}, {@code 512Ki}, {@code 9000},
 * optionally followed by {@code B} and (for rates) {@code /s}. K, M, G and T are powers of 1000, as link speeds
 * are quoted; Ki, Mi, Gi and Ti powers of 1024.
 */
public final class ByteQuantity {

    public static final String FORMS = "a whole number of bytes with an optional unit: K, M, G, T (powers of 1000) or"
            + " Ki, Mi, Gi, Ti (powers of 1024), e.g. 100M or 1.5G";

    private static final Pattern QUANTITY =
            Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(?:([kKmMgGtT])(i?))?[bB]?(?:/s)?");

    private ByteQuantity() {
    }

    /**
     * The number of bytes {@code text} stands for.
     *
     * @throws IllegalArgumentException when it is not one of the accepted {@link #FORMS}, or too large
     */
    public static long parse(String text) {
        Matcher m = QUANTITY.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not " + FORMS);
        }
        BigDecimal value = new BigDecimal(m.group(1));
        if (m.group(2) != null) {
            int power = "KMGT".indexOf(m.group(2).toUpperCase(Locale.ROOT)) + 1;
            BigDecimal base = BigDecimal.valueOf(m.group(3).isEmpty() ? 1000 : 1024);
            value = value.multiply(base.pow(power));
        }
        try {
            return value.setScale(0, RoundingMode.HALF_UP).longValueExact();
        } catch (ArithmeticException tooLarge) {
            throw new IllegalArgumentException("'" + text + "' is too large", tooLarge);
        }
    }
}
