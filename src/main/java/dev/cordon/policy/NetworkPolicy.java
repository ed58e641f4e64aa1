package dev.cordon.policy;

import java.util.List;
import java.util.Objects;

/**
 * {@code execution.sandbox.network}.
 *
 * @param mode        {@code policy}: {@code deny} (extension), {@code restricted} or {@code permissive}
 * @param allowlist   entries consulted in {@code restricted} mode; first match allows
 * @param allowListen {@code allow_listen} (extension key, default false): whether guest code may
 *                    bind a listening socket on loopback
 */
public record NetworkPolicy(Mode mode, List<AllowEntry> allowlist, boolean allowListen) {

    public NetworkPolicy {
        Objects.requireNonNull(mode, "mode");
        allowlist = List.copyOf(allowlist);
    }

    /** No network section: deny everything. */
    public static final NetworkPolicy DENY_ALL = new NetworkPolicy(Mode.DENY, List.of(), false);

    public enum Mode {
        DENY, RESTRICTED, PERMISSIVE;

        public String yamlName() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /**
     * One allowlist entry: exactly one of {@code domain} and {@code cidr} is set.
     *
     * @param domain lower-case ASCII (IDNA-normalised) name, exact or {@code *.suffix}; or null
     * @param cidr   an IPv4 or IPv6 network; or null
     * @param ports  allowed ports (1-65535); empty means every port
     */
    public record AllowEntry(String domain, Cidr cidr, List<Integer> ports) {
        public AllowEntry {
            if ((domain == null) == (cidr == null)) {
                throw new IllegalArgumentException("an allowlist entry has exactly one of domain and cidr");
            }
            ports = List.copyOf(ports);
        }

        public boolean allowsPort(int port) {
            return ports.isEmpty() || ports.contains(port);
        }
    }
}
