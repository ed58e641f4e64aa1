package dev.cordon.nativetier;

import dev.cordon.decision.Decision;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * What the native tier's egress proxy asks before every connection: the same network decision the
 * in-JVM gate uses, behind a small interface so the proxy does not depend on how it is made.
 * The lead wires {@code dev.cordon.decision.NetworkDecisions} in, e.g.
 * <pre>{@code
 * EgressGate gate = new EgressGate() {
 *     public Decision decideName(String host, int port) { return NetworkDecisions.resolve(policy.network(), host, port); }
 *     public Decision decide(String host, InetAddress a, int port) { return NetworkDecisions.connect(policy.network(), host, a, port); }
 * };
 * }</pre>
 */
public interface EgressGate {

    /**
     * May {@code host} (a name, never an IP literal) be resolved for a connection to {@code port}?
     * Asked before any DNS lookup, so names no rule allows are never resolved (no DNS side channel).
     */
    Decision decideName(String host, int port);

    /**
     * May the proxy connect to {@code address}:{@code port}? {@code host} is the name the client
     * asked for (the address is one the proxy's resolver returned for it), or null when the client
     * gave an IP literal.
     */
    Decision decide(String host, InetAddress address, int port);

    /** Name resolution for the proxy: the host's resolver, or an injected one in tests. */
    @FunctionalInterface
    interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
    }
}
