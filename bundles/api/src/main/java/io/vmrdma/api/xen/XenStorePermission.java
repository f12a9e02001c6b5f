package io.vmrdma.api.xen;

/**
 * One entry of a XenStore node's permission list. The first entry names the owner and the access of every
 * domain not listed; the rest grant access to particular domains.
 */
public record XenStorePermission(int domid, Access access) {

    /** What a domain may do with a node. */
    public enum Access {
        NONE('n'),
        READ('r'),
        WRITE('w'),
        BOTH('b');

        private final char letter;

        Access(char letter) {
            this.letter = letter;
        }

        /** The letter XenStore writes for this access. */
        public char letter() {
            return letter;
        }

        /** The access a letter names. */
        public static Access ofLetter(char letter) {
            for (Access a : values()) {
                if (a.letter == letter) {
                    return a;
                }
            }
            throw new IllegalArgumentException("not a XenStore permission letter: " + letter);
        }
    }

    public XenStorePermission {
        if (domid < 0 || domid > 0xFFFF) {
            throw new IllegalArgumentException("domid out of range: " + domid);
        }
        if (access == null) {
            throw new IllegalArgumentException("access is required");
        }
    }

    /** As XenStore writes it: {@code r5}, {@code n0}. */
    @Override
    public String toString() {
        return access.letter() + Integer.toString(domid);
    }
}
