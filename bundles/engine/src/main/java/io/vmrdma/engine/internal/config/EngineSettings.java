package io.vmrdma.engine.internal.config;

import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.engine.internal.congestion.CongestionSettings;

/**
 * The engine's configuration ({@code io.vmrdma.engine}) read and checked as a whole before any of it is applied, so
 * a bad value refuses the file with one message naming the key, the value and what is accepted, and the settings in
 * force stay. Values are read from the raw properties: Declarative Services would otherwise turn a typo in a number
 * into an exception at the first use (or, for a boolean, silently into false).
 *
 * <p>Per-domain limits are read as numbers here; their ranges are checked where they are made (the verbs engine's
 * limits, applied all at once or not at all).
 */
public record EngineSettings(int nodeId, boolean nodeIdFromCluster, String nic, int maxDevices, int maxPds, int maxCqs,
                             int maxQps,
                             int maxMrs,
                             long maxRegisteredBytes, int maxCqDepth, int maxQpWr, int maxSge, long maxMessageBytes,
                             long maxQueueBytes, long maxNodeQueueBytes, long maxGrantPages, int chunkBytes,
                             Map<Integer, List<String>> partitions, Map<Integer, LinkAddress> peers, boolean auth,
                             boolean discovery, CongestionSettings congestion) {

    static final int MIN_CHUNK_BYTES = 4096;

    /**
     * @param defaults   the configuration as Declarative Services built it, for the defaults of keys not set
     * @param properties the configuration's raw properties
     * @throws IllegalArgumentException naming the first bad key, its value, and what it accepts
     */
    public static EngineSettings parse(EngineConfig defaults, Map<String, ?> properties) {
        int nodeId = (int) whole(properties, "nodeId", defaults::nodeId, 0, 0xFFFF);
        Object nicValue = properties.get("nic");
        String nic = NicChoice.parse(nicValue == null ? defaults.nic() : nicValue.toString());
        return new EngineSettings(nodeId, nodeIdFromCluster(properties, defaults.nodeIdConfirmedBy()), nic,
                (int) whole(properties, "maxDevices", defaults::maxDevices, 1, GuestAbi.MAX_DEVICE_NUMBER + 1),
                (int) whole(properties, "maxPds", defaults::maxPds, 1, Integer.MAX_VALUE),
                (int) whole(properties, "maxCqs", defaults::maxCqs, 1, Integer.MAX_VALUE),
                (int) whole(properties, "maxQps", defaults::maxQps, 1, Integer.MAX_VALUE),
                (int) whole(properties, "maxMrs", defaults::maxMrs, 1, Integer.MAX_VALUE),
                bytes(properties, "maxRegisteredBytes", defaults::maxRegisteredBytes, 1, Long.MAX_VALUE),
                (int) whole(properties, "maxCqDepth", defaults::maxCqDepth, 1, Integer.MAX_VALUE),
                (int) whole(properties, "maxQpWr", defaults::maxQpWr, 1, Integer.MAX_VALUE),
                (int) whole(properties, "maxSge", defaults::maxSge, 1, ScatterGatherList.MAX_SGE),
                bytes(properties, "maxMessageBytes", defaults::maxMessageBytes, 1, Integer.MAX_VALUE),
                bytes(properties, "maxQueueBytes", defaults::maxQueueBytes, 1, Long.MAX_VALUE),
                bytes(properties, "maxNodeQueueBytes", defaults::maxNodeQueueBytes, 0, Long.MAX_VALUE),
                whole(properties, "maxGrantPages", defaults::maxGrantPages, 1, Integer.MAX_VALUE),
                (int) bytes(properties, "chunkBytes", defaults::chunkBytes, MIN_CHUNK_BYTES, Integer.MAX_VALUE),
                PartitionConfig.parse(properties),
                PeerConfig.parse(properties, nodeId),
                onOff(properties, "auth", defaults.auth()),
                onOff(properties, "discovery", defaults.discovery()),
                congestion(defaults, properties));
    }

    /** The congestion-control keys; their relations (floor, start, ceiling) are checked by the settings record. */
    private static CongestionSettings congestion(EngineConfig defaults, Map<String, ?> properties) {
        Object raw = properties.get("congestionControl");
        String algorithm = raw == null ? defaults.congestionControl() : raw.toString().trim();
        return new CongestionSettings(algorithm,
                bytes(properties, "ccInitialWindow", defaults::ccInitialWindow, 1, Integer.MAX_VALUE),
                bytes(properties, "ccMinWindow", defaults::ccMinWindow, 1, Integer.MAX_VALUE),
                bytes(properties, "ccMaxWindow", defaults::ccMaxWindow, 1, Integer.MAX_VALUE),
                whole(properties, "ccTargetRttMicros", defaults::ccTargetRttMicros, 1, 1_000_000) * 1000,
                bytes(properties, "ccIncrease", defaults::ccIncrease, 1, Integer.MAX_VALUE),
                (int) whole(properties, "ccDecreasePercent", defaults::ccDecreasePercent, 1, 100));
    }

    /** Whether the cluster confirms the node id ({@code nodeIdConfirmedBy = cluster}) or nothing ({@code none}). */
    private static boolean nodeIdFromCluster(Map<String, ?> properties, String fallback) {
        Object raw = properties.get("nodeIdConfirmedBy");
        String value = raw == null ? fallback : raw.toString().trim();
        return switch (value) {
            case "cluster" -> true;
            case "none" -> false;
            default -> throw new IllegalArgumentException("nodeIdConfirmedBy: '" + value + "' is neither none nor "
                    + "cluster");
        };
    }

    /** A switch: {@code on} or {@code off}, as written. */
    private static boolean onOff(Map<String, ?> properties, String key, String fallback) {
        Object raw = properties.get(key);
        String value = raw == null ? fallback : raw.toString();
        return switch (value) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException(key + ": '" + value + "' is neither on nor off");
        };
    }

    /** A whole number in {@code [min, max]}: a Number, or text of one. */
    private static long whole(Map<String, ?> properties, String key, LongSupplier fallback, long min, long max) {
        Object raw = properties.get(key);
        if (raw == null) {
            return fallback.getAsLong();
        }
        long value;
        if (raw instanceof Number n && (n instanceof Integer || n instanceof Long || n instanceof Short)) {
            value = n.longValue();
        } else {
            try {
                value = Long.parseLong(raw.toString().trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": '" + raw + "' is not a whole number (" + min + " to "
                        + max + ")");
            }
        }
        return inRange(key, raw, value, min, max);
    }

    /** A byte count in {@code [min, max]}: a Number, or text with an optional unit as {@link ByteQuantity} reads. */
    private static long bytes(Map<String, ?> properties, String key, LongSupplier fallback, long min, long max) {
        Object raw = properties.get(key);
        if (raw == null) {
            return fallback.getAsLong();
        }
        long value;
        if (raw instanceof Number n && !(n instanceof Double || n instanceof Float)) {
            value = n.longValue();
        } else {
            try {
                value = ByteQuantity.parse(raw.toString());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": " + e.getMessage());
            }
        }
        return inRange(key, raw, value, min, max);
    }

    private static long inRange(String key, Object raw, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(key + ": " + raw + " is out of range (" + min + " to " + max + ")");
        }
        return value;
    }
}
