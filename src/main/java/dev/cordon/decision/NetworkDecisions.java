package dev.cordon.decision;

import dev.cordon.policy.NetworkPolicy;
import java.net.IDN;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * The network part of the policy as pure functions: name normalisation, literal parsing and the
 * decisions for resolve, connect/sendto, bind and listen. The network gate only applies them.
 *
 * <p>Semantics (issue 3, section 3):
 * <ul>
 *   <li>{@code deny} (no network section): nothing is resolved or connected (rule
 *       {@code network.policy}). {@code permissive}: everything is, and recorded.</li>
 *   <li>{@code restricted}: a name is resolved only if a {@code domain} entry matches it (exact, or
 *       {@code *.suffix} for names strictly below the suffix; case-insensitive; IDNA ASCII form);
 *       otherwise it is not resolved at all (rule {@code network.restricted}). A connection is
 *       allowed when a {@code domain} entry matches a name that resolved to that address in this
 *       session (DNS pinning) or a {@code cidr} entry contains the address, and the entry lists the
 *       port (no {@code ports}: every port). A host that matches an entry on another port is
 *       refused with rule {@code network.allowlist}; a host that matches nothing with
 *       {@code network.restricted}.</li>
 *   <li>IP literals never match {@code domain} entries, only {@code cidr} ones. Literals are
 *       parsed as glibc's {@code inet_aton} does ({@code 127.1}, {@code 2130706433},
 *       {@code 0x7f000001}, {@code 0177.0.0.1}) and IPv4-mapped IPv6 is reduced to IPv4 before
 *       matching, so an odd spelling matches exactly what the kernel would connect to.</li>
 *   <li>Listening ({@code allow_listen}, default false) is only ever on loopback. Without it, a
 *       loopback listener on an ephemeral port is still allowed but accepts only the session's
 *       own connections: GraalPy emulates {@code socket.socketpair()} (which every
 *       {@code asyncio} event loop uses) with exactly that.</li>
 * </ul>
 */
public final class NetworkDecisions {

    /** Allow rule of a self-connect to one of the session's own listeners. */
    public static final String OWN_LISTENER = "network.own_listener";
    /** Allow rule of an ephemeral loopback listener that may accept only the session's own connections. */
    public static final String SOCKETPAIR = "network.socketpair";
    /** Allow rule of a client-side bind (it opens nothing to the outside). */
    public static final String CLIENT_BIND = "network.client_bind";
    public static final String PERMISSIVE = "network.permissive";

    private static final String ALLOWLIST = "execution.sandbox.network.allowlist";

    private NetworkDecisions() { }

    // ------------------------------------------------------------------ names and literals

    /**
     * The canonical form of a host name for matching and resolving: IDNA ASCII, lower case, without
     * the trailing root dot. Null when {@code host} is not a valid DNS name (then it is neither
     * matched nor resolved).
     */
    public static String normaliseName(String host) {
        if (host == null || host.isEmpty() || host.length() > 1000) {
            return null;
        }
        String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        String ascii;
        try {
            ascii = IDN.toASCII(h, IDN.ALLOW_UNASSIGNED);
        } catch (IllegalArgumentException e) {
            return null;
        }
        ascii = ascii.toLowerCase(Locale.ROOT);
        if (ascii.isEmpty() || ascii.length() > 253) {
            return null;
        }
        for (String label : ascii.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63) {
                return null;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                    return null;
                }
            }
        }
        return ascii;
    }

    /**
     * Parses {@code host} as an IP literal in any form the C library accepts, or returns null when
     * it is a name. IPv4: one to four parts, each decimal, octal ({@code 0} prefix) or hex
     * ({@code 0x}), the last part filling the remaining bytes ({@code inet_aton}). IPv6: standard
     * text, optionally in brackets, with an optional numeric zone. The result is normalised
     * ({@link #normalise}).
     */
    public static InetAddress parseLiteral(String host) {
        if (host == null || host.isEmpty()) {
            return null;
        }
        String h = host;
        boolean bracketed = h.startsWith("[") && h.endsWith("]") && h.length() > 2;
        if (bracketed) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.indexOf(':') >= 0) {
            int zone = h.indexOf('%');
            String core = zone >= 0 ? h.substring(0, zone) : h;
            // An IPv6 address, optionally with a zone (an interface name or number). Anything else
            // with a colon is a name: InetAddress.ofLiteral would read "5%x:y" as 0.0.0.5.
            if (core.indexOf(':') < 0 || zone >= 0 && !h.substring(zone + 1).matches("[A-Za-z0-9_.-]{1,64}")) {
                return null;
            }
            try {
                InetAddress a = InetAddress.ofLiteral(core);
                return normalise(a);
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        if (bracketed) {
            return null;
        }
        byte[] v4 = inetAton(h);
        if (v4 == null) {
            return null;
        }
        try {
            return InetAddress.getByAddress(v4);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** glibc {@code inet_aton}: null when {@code s} is not a numeric IPv4 address. */
    static byte[] inetAton(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length < 1 || parts.length > 4) {
            return null;
        }
        long[] v = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            int radix = 10;
            if (p.startsWith("0x") || p.startsWith("0X")) {
                // "0x" without digits is refused (glibc 2.36 inet_aton; older ones read it as 0)
                radix = 16;
                p = p.substring(2);
            } else if (p.length() > 1 && p.startsWith("0")) {
                radix = 8;
                p = p.substring(1);
            }
            if (p.isEmpty() || p.length() > 12) {
                return null;
            }
            for (int k = 0; k < p.length(); k++) {
                // ASCII only: Character.digit (and Long.parseLong) also take Arabic-Indic or
                // fullwidth digits, which the C library reads as a host name, not an address.
                char c = p.charAt(k);
                if (c >= 128 || Character.digit(c, radix) < 0) {
                    return null;
                }
            }
            v[i] = Long.parseLong(p, radix);
        }
        long addr;
        switch (parts.length) {
            case 1 -> {
                if (v[0] > 0xffffffffL) {
                    return null;
                }
                addr = v[0];
            }
            case 2 -> {
                if (v[0] > 0xff || v[1] > 0xffffffL) {
                    return null;
                }
                addr = v[0] << 24 | v[1];
            }
            case 3 -> {
                if (v[0] > 0xff || v[1] > 0xff || v[2] > 0xffff) {
                    return null;
                }
                addr = v[0] << 24 | v[1] << 16 | v[2];
            }
            default -> {
                if (v[0] > 0xff || v[1] > 0xff || v[2] > 0xff || v[3] > 0xff) {
                    return null;
                }
                addr = v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
            }
        }
        return new byte[] {(byte) (addr >>> 24), (byte) (addr >>> 16), (byte) (addr >>> 8), (byte) addr};
    }

    /** IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d}) becomes the IPv4 address; anything else is unchanged (no host name). */
    public static InetAddress normalise(InetAddress a) {
        byte[] b = a.getAddress();
        try {
            if (b.length == 16) {
                boolean mapped = true;
                for (int i = 0; i < 10 && mapped; i++) {
                    mapped = b[i] == 0;
                }
                if (mapped && b[10] == (byte) 0xff && b[11] == (byte) 0xff) {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                }
            }
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * The policy with every {@code domain} entry in the canonical form {@link #normaliseName} gives
     * names ({@code *.} kept), so matching is a plain string comparison. The loader already does
     * this; doing it again here keeps hand-built policies (tests, embedders) from silently never
     * matching. An entry that is no valid name is kept as it is: it can never match.
     */
    public static NetworkPolicy canonical(NetworkPolicy p) {
        List<NetworkPolicy.AllowEntry> out = new java.util.ArrayList<>();
        boolean changed = false;
        for (NetworkPolicy.AllowEntry e : p.allowlist()) {
            if (e.domain() == null) {
                out.add(e);
                continue;
            }
            boolean wild = e.domain().startsWith("*.");
            String n = normaliseName(wild ? e.domain().substring(2) : e.domain());
            if (n == null) {
                out.add(e); // never matches a valid name; kept so entry indices stay those of the file
                continue;
            }
            String d = wild ? "*." + n : n;
            changed |= !d.equals(e.domain());
            out.add(d.equals(e.domain()) ? e : new NetworkPolicy.AllowEntry(d, null, e.ports()));
        }
        return changed ? new NetworkPolicy(p.mode(), out, p.allowListen()) : p;
    }

    /** Whether a {@code domain} entry ({@code name} or {@code *.suffix}, already normalised) matches a normalised name. */
    public static boolean domainMatches(String pattern, String name) {
        if (pattern.startsWith("*.")) {
            String suffix = pattern.substring(1); // ".suffix"
            return name.length() > suffix.length() && name.endsWith(suffix);
        }
        return pattern.equals(name);
    }

    /** {@code ip:port}, with IPv6 in brackets, and {@code (name)} when the address came from a name. */
    public static String target(InetAddress address, int port, String name) {
        String ip = address.getHostAddress();
        String hp = address instanceof Inet6Address ? "[" + ip + "]:" + port : ip + ":" + port;
        return name == null ? hp : hp + " (" + name + ")";
    }

    // ------------------------------------------------------------------ decisions

    /** May {@code name} (normalised; null when invalid) be resolved at all? Port is not known yet. */
    public static Decision resolve(NetworkPolicy p, String name, String original) {
        String shown = name != null ? name : original;
        if (name == null) {
            return new Decision.Deny(Decision.Category.NETWORK, "resolve", String.valueOf(original), "network.restricted",
                    "'" + original + "' is not a valid host name, so it is not resolved",
                    "use a valid DNS name or an IP address allowed by a cidr entry");
        }
        return switch (p.mode()) {
            case DENY -> new Decision.Deny(Decision.Category.NETWORK, "resolve", shown, "network.policy",
                    "this policy allows no network access, so " + name + " is not resolved",
                    "execution.sandbox.network: {policy: restricted, allowlist: [{domain: \"" + name
                            + "\", ports: [443]}]} (use the port you connect to)");
            case PERMISSIVE -> Decision.allow(PERMISSIVE);
            case RESTRICTED -> {
                List<NetworkPolicy.AllowEntry> list = p.allowlist();
                for (int i = 0; i < list.size(); i++) {
                    NetworkPolicy.AllowEntry e = list.get(i);
                    if (e.domain() != null && domainMatches(e.domain(), name)) {
                        yield Decision.allow("network.allowlist[" + i + "]");
                    }
                }
                yield new Decision.Deny(Decision.Category.NETWORK, "resolve", shown, "network.restricted",
                        name + " matches no domain entry of the allowlist, so it is not resolved (no DNS query was made)",
                        "add {domain: \"" + name + "\", ports: [443]} to " + ALLOWLIST
                                + " (use the port you connect to)");
            }
        };
    }

    /**
     * May the guest connect (TCP), connect (UDP) or send a datagram ({@code operation}) to
     * {@code address:port}?
     *
     * @param address normalised ({@link #normalise})
     * @param names   the names that resolved to {@code address} in this session (may be empty)
     */
    public static Decision connect(NetworkPolicy p, String operation, InetAddress address, int port,
            Collection<String> names) {
        return connect(p, operation, address, port, names, names.isEmpty() ? null : names.iterator().next());
    }

    /**
     * As {@link #connect(NetworkPolicy, String, InetAddress, int, Collection)}, with the name to show
     * in the target: the name this connection was made by, when the gate knows it (null for an IP
     * literal). Matching still uses every name pinned to the address.
     */
    public static Decision connect(NetworkPolicy p, String operation, InetAddress address, int port,
            Collection<String> names, String name) {
        String target = target(address, port, name);
        switch (p.mode()) {
            case DENY:
                return new Decision.Deny(Decision.Category.NETWORK, operation, target, "network.policy",
                        "this policy allows no network access",
                        "execution.sandbox.network: {policy: restricted, allowlist: [" + entryFor(address, port, name)
                                + "]}");
            case PERMISSIVE:
                return Decision.allow(PERMISSIVE);
            default:
                break;
        }
        List<NetworkPolicy.AllowEntry> list = p.allowlist();
        int hostMatch = -1;
        String matchedName = null;
        for (int i = 0; i < list.size(); i++) {
            NetworkPolicy.AllowEntry e = list.get(i);
            boolean host = false;
            String via = null;
            if (e.cidr() != null) {
                host = e.cidr().contains(address.getAddress());
            } else {
                for (String n : names) {
                    if (domainMatches(e.domain(), n)) {
                        host = true;
                        via = n;
                        break;
                    }
                }
            }
            if (host) {
                if (e.allowsPort(port)) {
                    return Decision.allow("network.allowlist[" + i + "]");
                }
                // For a connection made by name, the domain entry is the one the user will recognise.
                if (hostMatch < 0 || via != null && matchedName == null) {
                    hostMatch = i;
                    matchedName = via;
                }
            }
        }
        if (hostMatch >= 0) {
            NetworkPolicy.AllowEntry e = list.get(hostMatch);
            String shownTarget = target(address, port, matchedName != null ? matchedName : name);
            List<Integer> ports = new java.util.ArrayList<>(e.ports());
            ports.add(port);
            String entry = e.cidr() != null ? "cidr: \"" + e.cidr() + "\"" : "domain: \"" + e.domain() + "\"";
            return new Decision.Deny(Decision.Category.NETWORK, operation, shownTarget, "network.allowlist",
                    "port " + port + " is not among the ports " + e.ports() + " of allowlist entry " + hostMatch
                            + " (" + entry + ")",
                    "in " + ALLOWLIST + ", change the entry to {" + entry + ", ports: " + ports + "}");
        }
        String why = name != null
                ? name + " (" + address.getHostAddress() + ") matches no allowlist entry"
                : address.getHostAddress() + " matches no cidr entry of the allowlist (an IP address is allowed only through a cidr entry)";
        return new Decision.Deny(Decision.Category.NETWORK, operation, target, "network.restricted", why,
                "add " + entryFor(address, port, name) + " to " + ALLOWLIST);
    }

    private static String entryFor(InetAddress address, int port, String name) {
        if (name != null) {
            return "{domain: \"" + name + "\", ports: [" + port + "]}";
        }
        int bits = address instanceof Inet4Address ? 32 : 128;
        return "{cidr: \"" + address.getHostAddress() + "/" + bits + "\", ports: [" + port + "]}";
    }

    /**
     * May the guest listen on {@code local:port}? {@code local} null means the wildcard or an
     * address Cordon cannot see ({@code java.net.ServerSocket}). A {@link #SOCKETPAIR} allow means:
     * the listener may accept only the session's own connections.
     */
    public static Decision listen(NetworkPolicy p, InetAddress local, int port) {
        boolean loopback = local != null && local.isLoopbackAddress();
        String target = local == null ? "0.0.0.0:" + port : target(local, port, null);
        if (p.allowListen()) {
            if (loopback) {
                return Decision.allow("network.allow_listen");
            }
            return new Decision.Deny(Decision.Category.NETWORK, "listen", target, "network.allow_listen",
                    "guest code may listen on loopback only, never on an address reachable from other hosts",
                    "bind to 127.0.0.1 or ::1 instead");
        }
        if (loopback && port == 0) {
            return Decision.allow(SOCKETPAIR);
        }
        return new Decision.Deny(Decision.Category.NETWORK, "listen", target, "network.allow_listen",
                "this policy does not allow listening sockets",
                "execution.sandbox.network.allow_listen: true (listening is then allowed on 127.0.0.1 and ::1 only)");
    }

    /**
     * May the guest bind a datagram socket to {@code local:port}? An ephemeral port is what any UDP
     * client gets implicitly; a fixed port makes a UDP server and is a listen.
     */
    public static Decision bindDatagram(NetworkPolicy p, InetAddress local, int port) {
        if (port == 0) {
            return Decision.allow(CLIENT_BIND);
        }
        Decision d = listen(p, local, port);
        return d;
    }
}
