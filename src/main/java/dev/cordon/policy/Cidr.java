package dev.cordon.policy;

import java.net.InetAddress;
import java.util.Objects;

/**
 * An IPv4 or IPv6 network, e.g. {@code 10.0.0.0/8} or {@code fd00::/8}.
 *
 * @param network the network address with host bits cleared (4 or 16 bytes)
 * @param prefix  prefix length, 0-32 for IPv4 and 0-128 for IPv6
 * @param text    the text as written in the policy
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
