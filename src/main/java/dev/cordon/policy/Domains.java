package dev.cordon.policy;

import java.net.IDN;
import java.util.Locale;

/** Allowlist domain patterns: an exact name or {@code *.suffix}, lower-case ASCII (IDNA). */
final class Domains {

    private Domains() { }

    /** RFC 1035: 253 characters as text, 63 per label. */
    static final int MAX_NAME = 253;
    static final int MAX_LABEL = 63;

    /**
     * Normalises a domain pattern: case folded, IDNA {@code toASCII} (so {@code bücher.example}
     * becomes {@code xn--bcher-kva.example}), one trailing dot dropped. {@code *.suffix} matches the
     * names that end in {@code .suffix}; {@code suffix} itself is not matched.
     *
     * @throws IllegalArgumentException saying what is wrong and what would be right
     */
    static String normalize(String raw) {
        if (raw.isEmpty()) {
            throw new IllegalArgumentException("empty domain");
        }
        if (raw.equals("*") || raw.equals("*.")) {
            throw new IllegalArgumentException("\"*\" alone would match every host; to allow every host, say so"
                    + " with policy: permissive");
        }
        boolean wildcard = raw.startsWith("*.");
        String rest = wildcard ? raw.substring(2) : raw;
        if (rest.indexOf('*') >= 0) {
            throw new IllegalArgumentException("a wildcard is allowed only as the whole first label, as in *.example.com");
        }
        if (rest.indexOf(':') >= 0 || rest.startsWith("[")) {
            throw new IllegalArgumentException("this is not a domain name (an IPv6 address or a host:port?);"
                    + " write addresses as cidr: \"2001:db8::1/128\" and ports under ports:");
        }
        if (rest.indexOf('/') >= 0) {
            throw new IllegalArgumentException("a domain has no scheme or path; write the host name only,"
                    + " as in api.example.com");
        }
        if (rest.endsWith(".")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        try {
            IpLiteral.parseV4(rest);
            throw new IllegalArgumentException("an IP address is not a domain; write cidr: \"" + rest + "/32\"");
        } catch (IllegalArgumentException notV4) {
            if (notV4.getMessage().startsWith("an IP address")) {
                throw notV4;
            }
        }
        if (rest.isEmpty()) {
            throw new IllegalArgumentException("empty domain");
        }
        for (String l : rest.split("\\.", -1)) {
            if (l.isEmpty()) {
                throw new IllegalArgumentException("empty label (two dots in a row, or a leading dot)");
            }
        }
        String ascii;
        try {
            ascii = IDN.toASCII(rest, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a valid host name (letters, digits and hyphens in dot-separated"
                    + " labels, no leading or trailing hyphen): " + e.getMessage());
        }
        if (ascii.isEmpty()) {
            throw new IllegalArgumentException("empty domain");
        }
        if (ascii.length() > MAX_NAME) {
            throw new IllegalArgumentException("a domain name has at most " + MAX_NAME + " characters");
        }
        String[] labels = ascii.split("\\.", -1);
        for (String l : labels) {
            if (l.isEmpty()) {
                throw new IllegalArgumentException("empty label (two dots in a row, or a leading dot)");
            }
            if (l.length() > MAX_LABEL) {
                throw new IllegalArgumentException("a label has at most " + MAX_LABEL + " characters");
            }
        }
        if (labels[labels.length - 1].chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("the last label is numeric, so this is no host name;"
                    + " for an address write cidr: \"a.b.c.d/32\"");
        }
        return wildcard ? "*." + ascii : ascii;
    }

    static boolean isWildcard(String pattern) {
        return pattern.startsWith("*.");
    }

    /** Whether the normalised pattern {@code outer} matches every name {@code inner} matches. */
    static boolean covers(String outer, String inner) {
        if (!isWildcard(outer)) {
            return outer.equals(inner);
        }
        String suffix = outer.substring(1); // ".example.com"
        String innerBase = isWildcard(inner) ? inner.substring(1) : inner;
        // *.example.com covers a.example.com and *.a.example.com, and *.example.com itself.
        return innerBase.endsWith(suffix) && (innerBase.length() > suffix.length() || isWildcard(inner));
    }
}
