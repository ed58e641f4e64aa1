package dev.cordon.packages;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEP 440 versions and version specifiers, as far as an installer needs them: parse, order, and
 * the {@code ~= == != <= >= < > ===} operators including {@code ==X.*} prefixes, with the
 * pre-release and local-version rules of the specification
 * (https://packaging.python.org/en/latest/specifications/version-specifiers/).
 * Pure; no I/O.
 */
final class Pep440 {

    private Pep440() { }

    // The specification's own regular expression (Appendix "parsing version strings").
    private static final Pattern VERSION = Pattern.compile(
            "v?(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\\.[0-9]+)*)"
                    + "(?<pre>[-_.]?(?<prel>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pren>[0-9]+)?)?"
                    + "(?<post>(?:-(?<postn1>[0-9]+))|(?:[-_.]?(?<postl>post|rev|r)[-_.]?(?<postn2>[0-9]+)?))?"
                    + "(?<dev>[-_.]?(?<devl>dev)[-_.]?(?<devn>[0-9]+)?)?)"
                    + "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
            Pattern.CASE_INSENSITIVE);

    /** A parsed version. {@code pre} is null for a final release; {@code post}/{@code dev} are null when absent. */
    record Version(BigInteger epoch, List<BigInteger> release, String preLabel, BigInteger pre, BigInteger post,
            BigInteger dev, List<String> local, String text) implements Comparable<Version> {

        static Version parse(String s) {
            Version v = tryParse(s);
            if (v == null) {
                throw new IllegalArgumentException("not a PEP 440 version: " + s);
            }
            return v;
        }

        static Version tryParse(String s) {
            if (s == null) {
                return null;
            }
            Matcher m = VERSION.matcher(s.strip());
            if (!m.matches()) {
                return null;
            }
            BigInteger epoch = m.group("epoch") == null ? BigInteger.ZERO : new BigInteger(m.group("epoch"));
            List<BigInteger> rel = new ArrayList<>();
            for (String p : m.group("release").split("\\.")) {
                rel.add(new BigInteger(p));
            }
            String preLabel = null;
            BigInteger pre = null;
            if (m.group("pre") != null) {
                preLabel = switch (m.group("prel").toLowerCase(Locale.ROOT)) {
                    case "alpha", "a" -> "a";
                    case "beta", "b" -> "b";
                    default -> "rc";
                };
                pre = m.group("pren") == null ? BigInteger.ZERO : new BigInteger(m.group("pren"));
            }
            BigInteger post = null;
            if (m.group("post") != null) {
                String n = m.group("postn1") != null ? m.group("postn1") : m.group("postn2");
                post = n == null ? BigInteger.ZERO : new BigInteger(n);
            }
            BigInteger dev = null;
            if (m.group("dev") != null) {
                dev = m.group("devn") == null ? BigInteger.ZERO : new BigInteger(m.group("devn"));
            }
            List<String> local = m.group("local") == null ? List.of()
                    : List.of(m.group("local").toLowerCase(Locale.ROOT).split("[-_.]"));
            return new Version(epoch, List.copyOf(rel), preLabel, pre, post, dev, local, s.strip());
        }

        boolean isPrerelease() {
            return pre != null || dev != null;
        }

        boolean isPostrelease() {
            return post != null;
        }

        /** This version without its local part. */
        Version publicVersion() {
            return local.isEmpty() ? this : new Version(epoch, release, preLabel, pre, post, dev, List.of(), text);
        }

        /** The release as a base version (epoch + release only). */
        Version baseVersion() {
            return new Version(epoch, release, null, null, null, null, List.of(), text);
        }

        @Override
        public int compareTo(Version o) {
            int c = epoch.compareTo(o.epoch);
            if (c != 0) {
                return c;
            }
            int n = Math.max(release.size(), o.release.size());
            for (int i = 0; i < n; i++) {
                BigInteger a = i < release.size() ? release.get(i) : BigInteger.ZERO;
                BigInteger b = i < o.release.size() ? o.release.get(i) : BigInteger.ZERO;
                c = a.compareTo(b);
                if (c != 0) {
                    return c;
                }
            }
            c = Integer.compare(preRank(), o.preRank());
            if (c != 0) {
                return c;
            }
            if (pre != null) {
                c = preLabel.compareTo(o.preLabel); // "a" < "b" < "rc"
                if (c != 0) {
                    return c;
                }
                c = pre.compareTo(o.pre);
                if (c != 0) {
                    return c;
                }
            }
            c = compareMissingLow(post, o.post);
            if (c != 0) {
                return c;
            }
            c = compareMissingHigh(dev, o.dev);
            if (c != 0) {
                return c;
            }
            return compareLocal(local, o.local);
        }

        /** -1: a dev release of the final (1.0.dev1 sorts before 1.0a1); 0: a pre-release; 1: no pre-release. */
        private int preRank() {
            if (pre != null) {
                return 0;
            }
            return dev != null && post == null ? -1 : 1;
        }

        private static int compareMissingLow(BigInteger a, BigInteger b) {
            if (a == null || b == null) {
                return a == null ? (b == null ? 0 : -1) : 1;
            }
            return a.compareTo(b);
        }

        private static int compareMissingHigh(BigInteger a, BigInteger b) {
            if (a == null || b == null) {
                return a == null ? (b == null ? 0 : 1) : -1;
            }
            return a.compareTo(b);
        }

        private static int compareLocal(List<String> a, List<String> b) {
            if (a.isEmpty() || b.isEmpty()) {
                return a.isEmpty() ? (b.isEmpty() ? 0 : -1) : 1;
            }
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                String x = a.get(i);
                String y = b.get(i);
                boolean xn = x.chars().allMatch(Character::isDigit);
                boolean yn = y.chars().allMatch(Character::isDigit);
                int c;
                if (xn && yn) {
                    c = new BigInteger(x).compareTo(new BigInteger(y));
                } else if (xn != yn) {
                    c = xn ? 1 : -1; // numeric segments sort after alphanumeric ones
                } else {
                    c = x.compareTo(y);
                }
                if (c != 0) {
                    return c;
                }
            }
            return Integer.compare(a.size(), b.size());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Version v && compareTo(v) == 0;
        }

        @Override
        public int hashCode() {
            List<BigInteger> r = new ArrayList<>(release);
            while (r.size() > 1 && r.getLast().signum() == 0) {
                r.removeLast();
            }
            return java.util.Objects.hash(epoch, r, preLabel, pre, post, dev, local);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** One clause such as {@code >=1.2} or {@code ==2.*}. */
    record Specifier(String op, String version) {

        private static final Pattern CLAUSE = Pattern.compile("\\s*(~=|===|==|!=|<=|>=|<|>)\\s*([^\\s,;]+)\\s*");

        static Specifier parse(String s) {
            Matcher m = CLAUSE.matcher(s);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a version specifier: " + s.strip());
            }
            String op = m.group(1);
            String v = m.group(2);
            boolean prefix = v.endsWith(".*");
            if (prefix && !(op.equals("==") || op.equals("!="))) {
                throw new IllegalArgumentException(".* is allowed only with == and !=: " + s.strip());
            }
            if (!op.equals("===")) {
                Version parsed = Version.tryParse(prefix ? v.substring(0, v.length() - 2) : v);
                if (parsed == null) {
                    throw new IllegalArgumentException("not a PEP 440 version in " + s.strip());
                }
                if (op.equals("~=") && parsed.release().size() < 2) {
                    throw new IllegalArgumentException("~= needs at least two release numbers: " + s.strip());
                }
            }
            return new Specifier(op, v);
        }

        /** Whether the specifier names a pre-release itself (then pre-releases are acceptable). */
        boolean mentionsPrerelease() {
            if (op.equals("===") || version.endsWith(".*")) {
                return false;
            }
            Version v = Version.tryParse(version);
            return v != null && v.isPrerelease();
        }

        boolean contains(Version c) {
            if (op.equals("===")) {
                return c.text().equalsIgnoreCase(version);
            }
            if (version.endsWith(".*")) {
                boolean match = prefixMatch(Version.parse(version.substring(0, version.length() - 2)), c);
                return op.equals("==") == match;
            }
            Version v = Version.parse(version);
            return switch (op) {
                case "==" -> (v.local().isEmpty() ? c.publicVersion() : c).compareTo(v) == 0;
                case "!=" -> (v.local().isEmpty() ? c.publicVersion() : c).compareTo(v) != 0;
                case "<=" -> c.publicVersion().compareTo(v) <= 0;
                case ">=" -> c.publicVersion().compareTo(v) >= 0;
                case "<" -> c.publicVersion().compareTo(v) < 0
                        && (v.isPrerelease() || !c.isPrerelease() || c.baseVersion().compareTo(v.baseVersion()) != 0);
                case ">" -> c.publicVersion().compareTo(v) > 0
                        && (v.isPostrelease() || !c.isPostrelease() || c.baseVersion().compareTo(v.baseVersion()) != 0)
                        && (c.local().isEmpty() || c.publicVersion().compareTo(v) != 0);
                case "~=" -> {
                    List<BigInteger> rel = v.release().subList(0, v.release().size() - 1);
                    Version prefix = new Version(v.epoch(), rel, null, null, null, null, List.of(), "");
                    yield c.publicVersion().compareTo(v) >= 0 && prefixMatch(prefix, c);
                }
                default -> false;
            };
        }

        /** {@code ==P.*}: same epoch and release numbers as P (candidate zero-padded), any suffix. */
        private static boolean prefixMatch(Version p, Version c) {
            if (!p.epoch().equals(c.epoch())) {
                return false;
            }
            for (int i = 0; i < p.release().size(); i++) {
                BigInteger ci = i < c.release().size() ? c.release().get(i) : BigInteger.ZERO;
                if (!ci.equals(p.release().get(i))) {
                    return false;
                }
            }
            if (p.pre() != null || p.post() != null || p.dev() != null) {
                // ==1.0rc1.*: the rest of the candidate must match too (rare; compared exactly)
                return c.release().size() <= p.release().size()
                        && java.util.Objects.equals(p.preLabel(), c.preLabel()) && java.util.Objects.equals(p.pre(), c.pre())
                        && (p.post() == null || p.post().equals(c.post())) && (p.dev() == null || p.dev().equals(c.dev()));
            }
            return true;
        }

        @Override
        public String toString() {
            return op + version;
        }
    }

    /** A comma-separated set of specifiers; empty means any version. */
    record SpecifierSet(List<Specifier> specs) {

        static final SpecifierSet ANY = new SpecifierSet(List.of());

        SpecifierSet {
            specs = List.copyOf(specs);
        }

        static SpecifierSet parse(String s) {
            if (s == null || s.isBlank()) {
                return ANY;
            }
            List<Specifier> out = new ArrayList<>();
            for (String part : s.split(",")) {
                if (!part.isBlank()) {
                    out.add(Specifier.parse(part));
                }
            }
            return new SpecifierSet(out);
        }

        SpecifierSet and(SpecifierSet o) {
            List<Specifier> all = new ArrayList<>(specs);
            all.addAll(o.specs);
            return new SpecifierSet(all);
        }

        boolean isAny() {
            return specs.isEmpty();
        }

        boolean mentionsPrerelease() {
            return specs.stream().anyMatch(Specifier::mentionsPrerelease);
        }

        /** Whether {@code v} satisfies every clause (pre-release policy is the caller's). */
        boolean contains(Version v) {
            for (Specifier s : specs) {
                if (!s.contains(v)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return String.join(",", specs.stream().map(Specifier::toString).toList());
        }
    }
}
