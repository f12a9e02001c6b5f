package io.vmrdma.engine.internal.auth;

/**
 * What this node keeps to authenticate frames with one peer: the taggers of both directions, the peer's epoch once
 * confirmed, the window of its frame counters in that epoch, and the challenge of the last HELLO sent to it.
 *
 * <p>An epoch is confirmed only by a HELLO_REPLY that echoes the challenge of a HELLO this node sent (a fresh
 * random number): a frame under any other epoch may be a genuine frame captured before the peer restarted, so
 * nothing in it is believed. Confined to the data agent.
 */
public final class PeerAuth {

    /** Frames this node sends to the peer: K(this node -&gt; peer). */
    public final FrameTagger out;
    /** Frames from the peer to this node: K(peer -&gt; this node). */
    public final FrameTagger in;
    /** The peer's discovery HELLOs, sent to everyone: K(peer -&gt; 0xFFFF). */
    public final FrameTagger inDiscovery;
    private final ReplayWindow window = new ReplayWindow();
    private boolean confirmed;
    private long epoch;
    private long challenge;
    private long challengedNanos;

    PeerAuth(FrameTagger out, FrameTagger in, FrameTagger inDiscovery) {
        this.out = out;
        this.in = in;
        this.inDiscovery = inDiscovery;
    }

    /** Whether a frame under {@code frameEpoch} with {@code counter} is new from the peer's confirmed epoch. */
    public boolean isFresh(long frameEpoch, long counter) {
        return confirmed && frameEpoch == epoch && window.isFresh(counter);
    }

    /** Whether {@code frameEpoch} is the peer's confirmed epoch (a frame under it that is not fresh is a replay). */
    public boolean isCurrentEpoch(long frameEpoch) {
        return confirmed && frameEpoch == epoch;
    }

    /** Records a fresh frame's counter as seen. */
    public void accept(long counter) {
        window.mark(counter);
    }

    /** Whether an epoch of this peer was ever confirmed (a peer heard for the first time has none). */
    public boolean confirmed() {
        return confirmed;
    }

    /**
     * Whether a HELLO_REPLY echoing {@code echo} answers the challenge outstanding: then {@code frameEpoch} becomes
     * the peer's confirmed epoch, its window starts at {@code counter}, and the challenge is spent.
     */
    public boolean confirm(long echo, long frameEpoch, long counter) {
        if (challenge == 0 || echo != challenge) {
            return false;
        }
        challenge = 0;
        if (confirmed && frameEpoch == epoch) {
            if (!window.isFresh(counter)) {
                return false;
            }
            window.mark(counter);
            return true;
        }
        confirmed = true;
        epoch = frameEpoch;
        window.startAt(counter);
        return true;
    }

    /** The challenge to put in a HELLO to the peer now: {@code fresh}, remembered until answered or replaced. */
    public long challenge(long fresh, long nowNanos) {
        challenge = fresh;
        challengedNanos = nowNanos;
        return fresh;
    }

    /** When the last challenge was sent, to keep early challenges (on an unconfirmed epoch) to a few a second. */
    public long challengedNanos() {
        return challengedNanos;
    }
}
