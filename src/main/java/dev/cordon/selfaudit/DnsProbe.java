package dev.cordon.selfaudit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The JVM's name resolver with one addition: names under {@value #SUFFIX} are counted and answered
 * "no such host" here, never sent to a DNS server. Every other name goes to the JDK's built-in
 * resolver unchanged (one {@code endsWith} per lookup).
 *
 * <p>Why: {@code cordon audit} must see from outside whether guest code got a name it may not use
 * resolved. The network gate decides lookups before they reach any resolver, so a count taken
 * behind the gate (in {@code InetAddress}'s resolver, which the gate's own resolver and the native
 * tier's egress proxy both end in) observes a leak by any path in this JVM, including one that
 * bypasses the gate. The suffix is under {@code .invalid} (RFC 6761: never resolves), so the probe
 * changes no real answer. Registered as a {@code java.net.spi.InetAddressResolverProvider}, which the
 * JDK loads on the first lookup; {@link #installed()} says whether this JVM uses it (another provider
 * on the class path would win, and then the DNS check is skipped, not passed).
 *
 * <p>Limit: a lookup made by a native-tier process inside its sandbox would not pass through this
 * JVM; such a process has no network but the egress proxy (no DNS server is reachable), which the
 * network checks cover.
 */
public final class DnsProbe extends InetAddressResolverProvider {

    /** Names ending in this are the probe's. */
    public static final String SUFFIX = ".cordon-selfaudit.invalid";

    private static final Map<String, AtomicInteger> LOOKUPS = new ConcurrentHashMap<>();
    private static volatile boolean installed;

    /** Needed by {@link java.util.ServiceLoader}. */
    public DnsProbe() { }

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        installed = true;
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy lookupPolicy) throws UnknownHostException {
                if (host != null && host.toLowerCase(Locale.ROOT).endsWith(SUFFIX)) {
                    LOOKUPS.computeIfAbsent(host.toLowerCase(Locale.ROOT), k -> new AtomicInteger()).incrementAndGet();
                    throw new UnknownHostException(host + ": a cordon audit probe name (never resolved)");
                }
                return builtin.lookupByName(host, lookupPolicy);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                return builtin.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "cordon-selfaudit-dns-probe";
    }

    /** Whether this JVM resolves names through the probe (forces the JDK to load its resolver). */
    static boolean installed() {
        InetAddress.getLoopbackAddress();
        try {
            InetAddress.getAllByName("probe-check" + SUFFIX);
        } catch (UnknownHostException e) {
            // expected
        }
        return installed;
    }

    /** Lookups of {@code name} (lower case) this JVM has made. */
    static int lookups(String name) {
        AtomicInteger n = LOOKUPS.get(name.toLowerCase(Locale.ROOT));
        return n == null ? 0 : n.get();
    }
}
