package io.vmrdma.nic.faults;

import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;

/**
 * A port that passes everything to another port: the base of decorators that change or watch some of the traffic
 * (fault injection, counting in tests) and leave the rest alone.
 *
 * <p>It does not gather ({@link NicPort#gathers()}): a frame committed in pieces is laid out whole in the window and
 * passes through this decorator's {@link #commit}, so a decorator that watches or changes commits sees every frame. A
 * decorator that can pass pieces on overrides both {@code gathers} and {@code commitGather}.
 */
public abstract class ForwardingNicPort implements NicPort {

    protected final NicPort inner;

    protected ForwardingNicPort(NicPort inner) {
        this.inner = inner;
    }

    @Override
    public String binding() {
        return inner.binding();
    }

    @Override
    public String interfaceName() {
        return inner.interfaceName();
    }

    @Override
    public LinkAddress address() {
        return inner.address();
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public Optional<LinkAddress> broadcastAddress() {
        return inner.broadcastAddress();
    }

    @Override
    public LinkState linkState() {
        return inner.linkState();
    }

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        return inner.poll(handler, frameLimit);
    }

    @Override
    public void awaitFrames(long timeoutNanos) {
        inner.awaitFrames(timeoutNanos);
    }

    @Override
    public boolean awaitFramesOr(int fd, long timeoutNanos) {
        return inner.awaitFramesOr(fd, timeoutNanos);
    }

    @Override
    public boolean wakeable() {
        return inner.wakeable();
    }

    @Override
    public void wake() {
        inner.wake();
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        return inner.tryClaim(destination, length, claim);
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        inner.commit(claim, length);
    }

    @Override
    public void abort(FrameClaim claim) {
        inner.abort(claim);
    }

    @Override
    public int flush() {
        return inner.flush();
    }

    @Override
    public long frameWaitNanos() {
        return inner.frameWaitNanos();
    }

    @Override
    public long receiveDrops() {
        return inner.receiveDrops();
    }

    @Override
    public Map<String, Long> bindingCounters() {
        return inner.bindingCounters();
    }
}
