package io.vmrdma.sched.testkit;

import io.vmrdma.api.sched.VmSettings;

/** Settings a test changes as it goes; apply a change with {@link SimulatedLink#settingsChanged}. */
public final class SimSettings implements VmSettings {

    private int weight = 1;
    private int priority = 4;
    private long rateBytesPerSecond;
    private long burstBytes;

    public SimSettings weight(int value) {
        weight = value;
        return this;
    }

    public SimSettings priority(int level) {
        priority = level;
        return this;
    }

    public SimSettings rate(long bytesPerSecond, long burst) {
        rateBytesPerSecond = bytesPerSecond;
        burstBytes = burst;
        return this;
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public int priority() {
        return priority;
    }

    @Override
    public long rateBytesPerSecond() {
        return rateBytesPerSecond;
    }

    @Override
    public long burstBytes() {
        return burstBytes;
    }
}
