package io.vmrdma.engine.internal.sched;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The scheduling configuration ({@code io.vmrdma.sched}) read and checked before it is applied: a policy name that
 * cannot be one, or a shaper switch that is neither true nor false, refuses the file and the settings in force stay.
 * (A policy that is a valid name but not installed is accepted: its bundle may come later, and the built-in
 * round-robin stands in until it does.)
 */
record SchedulingSettings(String policy, boolean shaper) {

    static final SchedulingSettings DEFAULTS = new SchedulingSettings("rr", false);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}");

    /** @throws IllegalArgumentException naming the key, the value and what it accepts */
    static SchedulingSettings parse(Map<String, ?> properties) {
        Object policyValue = properties.get("policy");
        String policy = policyValue == null ? DEFAULTS.policy() : policyValue.toString().trim();
        if (!NAME.matcher(policy).matches()) {
            throw new IllegalArgumentException("policy: '" + policyValue + "' is not a policy name (letters, digits,"
                    + " _ . -, such as rr, drr, priority)");
        }
        Object shaperValue = properties.get("shaper");
        boolean shaper;
        if (shaperValue == null) {
            shaper = DEFAULTS.shaper();
        } else if (shaperValue instanceof Boolean b) {
            shaper = b;
        } else {
            String text = shaperValue.toString().trim().toLowerCase(Locale.ROOT);
            if (!text.equals("true") && !text.equals("false")) {
                throw new IllegalArgumentException("shaper: '" + shaperValue + "' is not true or false");
            }
            shaper = text.equals("true");
        }
        return new SchedulingSettings(policy, shaper);
    }
}
