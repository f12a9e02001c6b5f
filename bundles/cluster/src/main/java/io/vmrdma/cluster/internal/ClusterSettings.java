package io.vmrdma.cluster.internal;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The checked configuration of the cluster member. The cluster's port may only listen on an address of a management
 * network that stays inside the site: link-local (169.254/16, fe80::/10), unique-local IPv6 (fc00::/7) or a
 * private IPv4 range; every member address must be such a literal too, so no name lookup decides who joins.
 *
 * @param majority how many members a side of a split needs to change settings: more than half the members listed
 */
record ClusterSettings(String name, List<String> members, String bindAddress, int port, int memberTimeoutSeconds,
                       Path stateDirectory, int majority) {

    static final int MAX_MEMBERS = 256;

    /** @throws IllegalArgumentException naming the first value that is wrong */
    static ClusterSettings parse(ClusterConfig config) {
        String name = config.name() == null ? "" : config.name().trim();
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalArgumentException("name: 1 to 64 letters, digits, '.', '_' or '-', not '" + name + "'");
        }
        if (config.port() < 1 || config.port() > 65535) {
            throw new IllegalArgumentException("port: 1..65535, not " + config.port());
        }
        // An etc/ file gives one comma-separated value, Configuration Admin may give an array.
        List<String> members = new ArrayList<>();
        for (String value : config.members() == null ? new String[0] : config.members()) {
            for (String member : value.split(",")) {
                if (!member.isBlank()) {
                    siteLocal("members", hostOf(member.trim()));
                    members.add(member.trim());
                }
            }
        }
        if (members.isEmpty() || members.size() > MAX_MEMBERS) {
            throw new IllegalArgumentException("members: 1 to " + MAX_MEMBERS + " addresses, not " + members.size());
        }
        if (members.size() != new java.util.HashSet<>(members).size()) {
            throw new IllegalArgumentException("members: an address listed twice in " + members);
        }
        String bind = config.bindAddress() == null ? "" : config.bindAddress().trim();
        siteLocal("bindAddress", bind);
        if (members.stream().map(ClusterSettings::hostOf).noneMatch(bind::equals)) {
            throw new IllegalArgumentException("bindAddress " + bind + " is not one of the members " + members);
        }
        if (config.memberTimeoutSeconds() < 2 || config.memberTimeoutSeconds() > 300) {
            throw new IllegalArgumentException("memberTimeoutSeconds: 2..300, not " + config.memberTimeoutSeconds());
        }
        Path state = config.stateDirectory() == null || config.stateDirectory().isBlank()
                ? Path.of(System.getProperty("karaf.base", "."), "state", "cluster")
                : Path.of(config.stateDirectory().trim());
        return new ClusterSettings(name, List.copyOf(members), bind, config.port(), config.memberTimeoutSeconds(),
                state, members.size() / 2 + 1);
    }

    /** The address of ADDRESS, ADDRESS:PORT or [IPv6]:PORT. */
    private static String hostOf(String member) {
        if (member.startsWith("[")) {
            int end = member.indexOf(']');
            return end < 0 ? member : member.substring(1, end);
        }
        int colon = member.indexOf(':');
        return colon >= 0 && colon == member.lastIndexOf(':') ? member.substring(0, colon) : member;
    }

    private static void siteLocal(String key, String literal) {
        if (!literal.matches("[0-9A-Fa-f:.]+")) {
            throw new IllegalArgumentException(key + ": an IP address literal, not '" + literal + "'");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(key + ": not an IP address: '" + literal + "'");
        }
        byte[] bytes = address.getAddress();
        boolean uniqueLocal = bytes.length == 16 && (bytes[0] & 0xfe) == 0xfc;
        if (!(address.isLinkLocalAddress() || address.isSiteLocalAddress() || uniqueLocal)) {
            throw new IllegalArgumentException(key + ": " + literal + " is not link-local, unique-local or private: "
                    + "the cluster's port must not face a network beyond the site");
        }
    }
}
