package dev.cordon.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * How the network gate turns an allowed name into addresses. The gate asks only for names the
 * policy allows (a name that matches no entry is never resolved), and pins what the resolver
 * returned: later connections to those addresses are attributed to that name for the session.
 *
 * <p>Tests inject a table ({@link #of}); production uses {@link #SYSTEM}.
 */
@FunctionalInterface
public interface Resolver {

    /**
     * @param name lower-case ASCII (IDNA) host name without trailing dot
     * @return its addresses, at least one
     * @throws UnknownHostException when it has none
     */
    List<InetAddress> resolve(String name) throws UnknownHostException;

    /** The JVM's resolver ({@code InetAddress.getAllByName}, with its cache). */
    Resolver SYSTEM = name -> List.of(InetAddress.getAllByName(name));

    /** A fixed table, name to address literals; unknown names fail like NXDOMAIN. */
    static Resolver of(java.util.Map<String, List<String>> table) {
        java.util.Map<String, List<InetAddress>> resolved = new java.util.HashMap<>();
        table.forEach((name, literals) -> resolved.put(name, literals.stream().map(InetAddress::ofLiteral).toList()));
        return name -> {
            List<InetAddress> a = resolved.get(name);
            if (a == null || a.isEmpty()) {
                throw new UnknownHostException(name);
            }
            return a;
        };
    }
}
