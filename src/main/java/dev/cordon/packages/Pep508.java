package dev.cordon.packages;

import dev.cordon.decision.InstallDecisions;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEP 508 dependency specifiers: {@code name[extras] specifiers ; marker}, and the evaluation of
 * environment markers against a target interpreter
 * (https://packaging.python.org/en/latest/specifications/dependency-specifiers/). Pure.
 */
final class Pep508 {

    private Pep508() { }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?");

    /**
     * A requirement. {@code url} is set for {@code name @ URL} forms (Cordon refuses those);
     * {@code marker} is null when there is none.
     */
    record Requirement(String name, Set<String> extras, Pep440.SpecifierSet specifier, String url, Marker marker,
            String text) {

        String normalized() {
            return InstallDecisions.normalize(name);
        }

        /** Whether the requirement applies in {@code env} when {@code extra} is being installed ("" for none). */
        boolean applies(Map<String, String> env, String extra) {
            return marker == null || marker.evaluate(env, extra);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** Parses one requirement; throws {@link IllegalArgumentException} with a readable reason. */
    static Requirement parse(String text) {
        String s = text.strip();
        String markerText = null;
        int semi = markerStart(s);
        if (semi >= 0) {
            markerText = s.substring(semi + 1).strip();
            s = s.substring(0, semi).strip();
        }
        Matcher m = NAME.matcher(s);
        if (!m.lookingAt()) {
            throw new IllegalArgumentException("not a requirement (expected a package name): " + text.strip());
        }
        String name = m.group();
        String rest = s.substring(m.end()).strip();
        Set<String> extras = new LinkedHashSet<>();
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("unclosed [ in " + text.strip());
            }
            for (String e : rest.substring(1, close).split(",")) {
                String x = e.strip();
                if (x.isEmpty()) {
                    continue;
                }
                if (!NAME.matcher(x).matches()) {
                    throw new IllegalArgumentException("not an extra name: " + x);
                }
                extras.add(InstallDecisions.normalize(x));
            }
            rest = rest.substring(close + 1).strip();
        }
        String url = null;
        Pep440.SpecifierSet spec = Pep440.SpecifierSet.ANY;
        if (rest.startsWith("@")) {
            url = rest.substring(1).strip();
            if (url.isEmpty()) {
                throw new IllegalArgumentException("empty URL after @ in " + text.strip());
            }
        } else if (!rest.isEmpty()) {
            String v = rest;
            if (v.startsWith("(")) {
                if (!v.endsWith(")")) {
                    throw new IllegalArgumentException("unclosed ( in " + text.strip());
                }
                v = v.substring(1, v.length() - 1);
            }
            spec = Pep440.SpecifierSet.parse(v);
        }
        Marker marker = markerText == null || markerText.isEmpty() ? null : Marker.parse(markerText);
        return new Requirement(name, Set.copyOf(extras), spec, url, marker, text.strip());
    }

    /** The index of the ';' that starts the marker: outside quotes, and for URL forms only after whitespace. */
    private static int markerStart(String s) {
        boolean url = s.indexOf('@') >= 0;
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == ';' && (!url || i > 0 && Character.isWhitespace(s.charAt(i - 1)))) {
                return i;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- markers

    /** A parsed environment marker. */
    sealed interface Marker permits And, Or, Compare {

        boolean evaluate(Map<String, String> env, String extra);

        static Marker parse(String text) {
            MarkerParser p = new MarkerParser(text);
            Marker m = p.or();
            p.skipSpace();
            if (p.pos != text.length()) {
                throw new IllegalArgumentException("unexpected text in marker at " + p.pos + ": " + text);
            }
            return m;
        }
    }

    record And(Marker left, Marker right) implements Marker {
        public boolean evaluate(Map<String, String> env, String extra) {
            return left.evaluate(env, extra) && right.evaluate(env, extra);
        }
    }

    record Or(Marker left, Marker right) implements Marker {
        public boolean evaluate(Map<String, String> env, String extra) {
            return left.evaluate(env, extra) || right.evaluate(env, extra);
        }
    }

    /** {@code lhs op rhs}; each side is a variable name or a quoted literal. */
    record Compare(String lhs, boolean lhsVar, String op, String rhs, boolean rhsVar) implements Marker {
        public boolean evaluate(Map<String, String> env, String extra) {
            String l = value(lhs, lhsVar, env, extra);
            String r = value(rhs, rhsVar, env, extra);
            boolean extraCmp = (lhsVar && canonicalVar(lhs).equals("extra")) || (rhsVar && canonicalVar(rhs).equals("extra"));
            if (extraCmp) {
                // Extras compare by normalised name (PEP 685).
                l = InstallDecisions.normalize(l);
                r = InstallDecisions.normalize(r);
            }
            switch (op) {
                case "in":
                    return r.contains(l);
                case "not in":
                    return !r.contains(l);
                default:
                    break;
            }
            if (!extraCmp) {
                Pep440.Version rv = Pep440.Version.tryParse(r);
                Pep440.Version lv = Pep440.Version.tryParse(l);
                if (rv != null && lv != null) {
                    try {
                        return Pep440.Specifier.parse(op + r).contains(lv);
                    } catch (IllegalArgumentException e) {
                        // not a valid specifier (e.g. ~= with one number): fall back to strings
                    }
                }
            }
            return switch (op) {
                case "==", "===" -> l.equals(r);
                case "!=" -> !l.equals(r);
                // Ordering of non-versions is undefined in PEP 508; packaging raises. Be strict: false.
                default -> false;
            };
        }

        private static String value(String token, boolean var, Map<String, String> env, String extra) {
            if (!var) {
                return token;
            }
            String v = canonicalVar(token);
            if (v.equals("extra")) {
                return extra == null ? "" : extra;
            }
            String x = env.get(v);
            if (x == null) {
                throw new IllegalArgumentException("unknown marker variable " + token);
            }
            return x;
        }
    }

    /** Marker variable names, including the legacy dotted spellings older wheels still carry. */
    static final Set<String> VARIABLES = Set.of("os_name", "sys_platform", "platform_machine",
            "platform_python_implementation", "platform_release", "platform_system", "platform_version",
            "python_version", "python_full_version", "implementation_name", "implementation_version", "extra");

    private static String canonicalVar(String v) {
        return switch (v) {
            case "os.name" -> "os_name";
            case "sys.platform" -> "sys_platform";
            case "platform.version" -> "platform_version";
            case "platform.machine" -> "platform_machine";
            case "platform.python_implementation", "python_implementation" -> "platform_python_implementation";
            default -> v;
        };
    }

    private static final class MarkerParser {
        final String s;
        int pos;

        MarkerParser(String s) {
            this.s = s;
        }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        boolean keyword(String k) {
            skipSpace();
            if (s.startsWith(k, pos)) {
                int end = pos + k.length();
                if (end == s.length() || !Character.isLetterOrDigit(s.charAt(end)) && s.charAt(end) != '_') {
                    pos = end;
                    return true;
                }
            }
            return false;
        }

        Marker or() {
            Marker m = and();
            while (keyword("or")) {
                m = new Or(m, and());
            }
            return m;
        }

        Marker and() {
            Marker m = atom();
            while (keyword("and")) {
                m = new And(m, atom());
            }
            return m;
        }

        Marker atom() {
            skipSpace();
            if (pos < s.length() && s.charAt(pos) == '(') {
                pos++;
                Marker m = or();
                skipSpace();
                if (pos >= s.length() || s.charAt(pos) != ')') {
                    throw new IllegalArgumentException("missing ) in marker: " + s);
                }
                pos++;
                return m;
            }
            String[] l = operand();
            String op = operator();
            String[] r = operand();
            return new Compare(l[0], l[1] != null, op, r[0], r[1] != null);
        }

        /** {value, non-null if a variable}. */
        String[] operand() {
            skipSpace();
            if (pos >= s.length()) {
                throw new IllegalArgumentException("marker ends early: " + s);
            }
            char c = s.charAt(pos);
            if (c == '\'' || c == '"') {
                int end = s.indexOf(c, pos + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed quote in marker: " + s);
                }
                String v = s.substring(pos + 1, end);
                pos = end + 1;
                return new String[] {v, null};
            }
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_'
                    || s.charAt(pos) == '.')) {
                pos++;
            }
            String v = s.substring(start, pos);
            if (!VARIABLES.contains(canonicalVar(v))) {
                throw new IllegalArgumentException("unknown marker variable " + (v.isEmpty() ? "at " + start : v)
                        + " in: " + s);
            }
            return new String[] {v, "var"};
        }

        String operator() {
            skipSpace();
            for (String op : new String[] {"===", "==", "!=", "<=", ">=", "~=", "<", ">"}) {
                if (s.startsWith(op, pos)) {
                    pos += op.length();
                    return op;
                }
            }
            if (keyword("not")) {
                if (keyword("in")) {
                    return "not in";
                }
                throw new IllegalArgumentException("expected 'in' after 'not' in marker: " + s);
            }
            if (keyword("in")) {
                return "in";
            }
            throw new IllegalArgumentException("expected a comparison operator in marker at " + pos + ": " + s);
        }
    }
}
