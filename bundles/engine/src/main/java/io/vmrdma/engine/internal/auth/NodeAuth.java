package io.vmrdma.engine.internal.auth;

import java.nio.ByteBuffer;
import java.security.SecureRandom;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Extension;

/**
 * This node's side of frame authentication: its epoch (random per start), the counter every frame it sends
 * carries, the keys of each peer, and the trailer of frames going out. Confined to the data agent.
 *
 * <p>One counter for all destinations: it only has to grow for each receiver, and it survives a peer being
 * replaced in the table, where a counter per peer object would start again at 1 and be refused as replays.
 */
public final class NodeAuth {

    private final FrameKeys keys;
    private final int nodeId;
    private final long epoch;
    private final FrameTagger discovery;
    private final SecureRandom random = new SecureRandom();
    private long counter;

    public NodeAuth(FrameKeys keys, int nodeId) {
        this.keys = keys;
        this.nodeId = nodeId;
        long e;
        do {
            e = random.nextLong();
        } while (e == 0);
        this.epoch = e;
        this.discovery = keys.tagger(nodeId, Extension.Hello.ANY_NODE);
    }

    public long epoch() {
        return epoch;
    }

    /** The keys and replay state for frames with {@code node}. */
    public PeerAuth peer(int node) {
        return new PeerAuth(keys.tagger(nodeId, node), keys.tagger(node, nodeId),
                keys.tagger(node, Extension.Hello.ANY_NODE));
    }

    /** A fresh random challenge for a HELLO (never 0, which means none). */
    public long nextChallenge() {
        long c;
        do {
            c = random.nextLong();
        } while (c == 0);
        return c;
    }

    /**
     * Writes the trailer of the frame of {@code coveredLength} bytes at {@code at} (header and payload, CRC field
     * sealed): epoch, next counter, then the tag under {@code tagger}.
     */
    public void seal(ByteBuffer buffer, int at, int coveredLength, FrameTagger tagger) {
        tagger.seal(buffer, at, coveredLength, epoch, ++counter);
    }

    /** As {@link #seal}, for a discovery HELLO (tagged for every node). */
    public void sealDiscovery(ByteBuffer buffer, int at, int coveredLength) {
        seal(buffer, at, coveredLength, discovery);
    }

    /**
     * Whether the frame at {@code at} from {@code src}, a node not in the peer table, carries a good tag: the key is
     * made for this one check (a HELLO from a stranger is rare; a flood of them costs a key derivation each).
     */
    public boolean verifiesFromStranger(ByteBuffer buffer, int at, int coveredLength, int src, boolean discoveryHello) {
        FrameTagger tagger = keys.tagger(src, discoveryHello ? Extension.Hello.ANY_NODE : nodeId);
        return tagger.verify(buffer, at, coveredLength + AuthTrailer.TAG_OFFSET);
    }
}
