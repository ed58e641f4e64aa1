package dev.cordon.policy;

import java.net.InetAddress;
import java.util.Objects;

/**
 * An IPv4 or IPv6 network, e.g. {@code 10.0.0.0/8} or {@code fd00::/8}.
 *
 * @param network the network address with host bits cleared (4 or 16 bytes)
 * @param prefix  prefix length, 0-32 for IPv4 and 0-128 for IPv6
 * @param text    the text as written in the policy ({@link #parse} gives the canonical form)
 */
public record Cidr(byte[] network, int prefix, String text) {

    public Cidr {
        Objects.requireNonNull(network, "network");
        if (network.length != 4 && network.length != 16) {
            throw new IllegalArgumentException("address must have 4 or 16 bytes");
        }
        if (prefix < 0 || prefix > network.length * 8) {
            throw new IllegalArgumentException("prefix " + prefix + " too long for " + text);
        }
        network = mask(network.clone(), prefix);
    }

    /**
     * Parses {@code 10.0.0.0/8}, {@code fd00::/8}, or a bare address (one host: {@code /32} or
     * {@code /128}). Literal syntax only, never DNS. Strict: host bits set ({@code 10.0.0.1/8}),
     * leading zeros, short IPv4 forms and zone ids are refused. An IPv4-mapped IPv6 network
     * ({@code ::ffff:10.0.0.0/104}) becomes the IPv4 network it stands for, so it matches IPv4 peers.
     *
     * @throws IllegalArgumentException saying what is wrong and what would be right
     */
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String addr = slash < 0 ? text : text.substring(0, slash);
        byte[] a = IpLiteral.parse(addr);
        int prefix = a.length * 8;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (p.length() > 1 && p.charAt(0) == '0')) {
                throw new IllegalArgumentException("the prefix length after / is a decimal number, 0-" + prefix);
            }
            int n = Integer.parseInt(p);
            if (n > prefix) {
                throw new IllegalArgumentException("prefix /" + n + " is too long for an IPv" + (a.length == 4 ? 4 : 6)
                        + " address (at most /" + prefix + ")");
            }
            prefix = n;
        }
        byte[] masked = mask(a.clone(), prefix);
        if (!java.util.Arrays.equals(masked, a)) {
            throw new IllegalArgumentException("host bits are set; did you mean "
                    + IpLiteral.format(masked) + "/" + prefix + "?");
        }
        if (prefix >= 96 && IpLiteral.isV4Mapped(a)) {
            a = java.util.Arrays.copyOfRange(a, 12, 16);
            prefix -= 96;
        }
        return new Cidr(a, prefix, IpLiteral.format(a) + "/" + prefix);
    }

    /** Whether {@code address} (4 or 16 bytes, already normalised) lies in this network. */
    public boolean contains(byte[] address) {
        if (address.length != network.length) {
            return false;
        }
        byte[] masked = mask(address.clone(), prefix);
        return java.util.Arrays.equals(masked, network);
    }

    public boolean contains(InetAddress address) {
        return contains(address.getAddress());
    }

    private static byte[] mask(byte[] a, int prefix) {
        for (int i = 0; i < a.length; i++) {
            int bits = Math.max(0, Math.min(8, prefix - i * 8));
            a[i] &= (byte) (0xff << (8 - bits));
        }
        return a;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(network) + prefix;
    }

    @Override
    public String toString() {
        return text;
    }
}
