package io.vmrdma.api.verbs;

/**
 * Partition keys, as InfiniBand's P_Keys: 15-bit values naming a partition. Queue pairs connect only within a
 * partition both domains belong to, and every access carries the key and is checked.
 */
public final class Partitions {

    /** The partition every domain belongs to when the operator has configured none. */
    public static final int DEFAULT_PKEY = 0x7FFF;

    /** Smallest valid key. */
    public static final int MIN_PKEY = 0x0001;

    /** Largest valid key. */
    public static final int MAX_PKEY = 0x7FFF;

    private Partitions() {
    }

    /** Whether {@code pkey} names a partition. */
    public static boolean isValid(int pkey) {
        return pkey >= MIN_PKEY && pkey <= MAX_PKEY;
    }

    /** A key parsed from {@code 0x1234} or decimal; IllegalArgumentException when not a valid key. */
    public static int parse(String text) {
        String t = text.trim();
        int value;
        try {
            value = t.startsWith("0x") || t.startsWith("0X") ? Integer.parseInt(t.substring(2), 16)
                    : Integer.parseInt(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a partition key: '" + text + "'");
        }
        if (!isValid(value)) {
            throw new IllegalArgumentException("partition key out of range 0x0001..0x7fff: '" + text + "'");
        }
        return value;
    }
}
