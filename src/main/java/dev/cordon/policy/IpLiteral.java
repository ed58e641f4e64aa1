package dev.cordon.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * IP address literals, parsed by hand. Never {@code InetAddress.getByName}: on anything that is
 * not a literal it does a DNS lookup, and a policy load must not touch the network (nor depend on it).
 *
 * <p>Strict on purpose: IPv4 is four decimal parts without leading zeros ({@code 010.0.0.1} is octal
 * to {@code inet_aton} and decimal to others, so it is refused, as are the short forms
 * {@code 10.1} and {@code 167772161}); IPv6 is RFC 4291 text (hex groups, one {@code ::}, optional
 * dotted IPv4 tail), without zone ids or brackets.
 */
final class IpLiteral {

    private IpLiteral() { }

    /** 4 or 16 bytes, or an {@link IllegalArgumentException} saying what is wrong. */
    static byte[] parse(String s) {
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty address");
        }
        if (s.indexOf(':') >= 0) {
            return parseV6(s);
        }
        return parseV4(s);
    }

    static byte[] parseV4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("an IPv4 address has four parts, like 10.0.0.0");
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("IPv4 parts are decimal numbers 0-255");
            }
            if (p.length() > 1 && p.charAt(0) == '0') {
                throw new IllegalArgumentException("leading zeros are ambiguous (octal to some parsers); write "
                        + Integer.parseInt(p) + " instead of " + p);
            }
            int v = Integer.parseInt(p);
            if (v > 255) {
                throw new IllegalArgumentException("IPv4 parts are 0-255, not " + v);
            }
            out[i] = (byte) v;
        }
        return out;
    }

    static byte[] parseV6(String s) {
        if (s.indexOf('%') >= 0) {
            throw new IllegalArgumentException("zone ids (%eth0) are not allowed");
        }
        if (s.startsWith("[")) {
            throw new IllegalArgumentException("write the address without brackets");
        }
        int dc = s.indexOf("::");
        if (dc >= 0 && s.indexOf("::", dc + 1) >= 0) {
            throw new IllegalArgumentException("\"::\" may appear only once");
        }
        List<Integer> head = new ArrayList<>();
        List<Integer> tail = new ArrayList<>();
        if (dc >= 0) {
            groups(s.substring(0, dc), head, false);
            groups(s.substring(dc + 2), tail, true);
            if (head.size() + tail.size() > 7) {
                throw new IllegalArgumentException("too many groups for an IPv6 address");
            }
        } else {
            groups(s, head, true);
            if (head.size() != 8) {
                throw new IllegalArgumentException("an IPv6 address has 8 groups (or uses ::)");
            }
        }
        byte[] out = new byte[16];
        for (int i = 0; i < head.size(); i++) {
            out[2 * i] = (byte) (head.get(i) >> 8);
            out[2 * i + 1] = (byte) (int) head.get(i);
        }
        int off = 8 - tail.size();
        for (int i = 0; i < tail.size(); i++) {
            out[2 * (off + i)] = (byte) (tail.get(i) >> 8);
            out[2 * (off + i) + 1] = (byte) (int) tail.get(i);
        }
        return out;
    }

    /** Appends the 16-bit groups of {@code s} (possibly empty); a dotted IPv4 may end it when {@code last}. */
    private static void groups(String s, List<Integer> out, boolean last) {
        if (s.isEmpty()) {
            return;
        }
        String[] parts = s.split(":", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (last && i == parts.length - 1 && p.indexOf('.') >= 0) {
                byte[] v4 = parseV4(p);
                out.add(((v4[0] & 0xff) << 8) | (v4[1] & 0xff));
                out.add(((v4[2] & 0xff) << 8) | (v4[3] & 0xff));
                return;
            }
            if (p.isEmpty() || p.length() > 4 || !p.chars().allMatch(IpLiteral::isHex)) {
                throw new IllegalArgumentException("IPv6 groups are 1-4 hex digits, not \"" + p + "\"");
            }
            out.add(Integer.parseInt(p, 16));
        }
    }

    private static boolean isHex(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** Whether the 16 bytes are an IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}). */
    static boolean isV4Mapped(byte[] a) {
        if (a.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    /** Canonical text: dotted IPv4, or RFC 5952 IPv6 (lower case, longest zero run as {@code ::}). */
    static String format(byte[] a) {
        if (a.length == 4) {
            return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1; // RFC 5952 4.2.2: a single zero group is not compressed
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                b.append("::");
                i += bestLen - 1;
                continue;
            }
            if (!b.isEmpty() && b.charAt(b.length() - 1) != ':') {
                b.append(':');
            }
            b.append(Integer.toHexString(g[i]));
        }
        return b.toString();
    }
}
