package dev.cordon.audit;

import dev.cordon.decision.Decision;
import java.util.regex.Pattern;

/**
 * The text of {@code log_file} lines. A line is {@code TIME session=NAME [LEVEL] ...}; a denial's
 * part is the guide's {@code [BLOCKED] ...} form ({@link Decision.Deny#blockedLine()}).
 *
 * <p>Guest code chooses much of what a denial names (a path, a host name, a command): a path such as
 * {@code "x\n2025-01-01T00:00:00Z session=s [BLOCKED] ..."} would otherwise put a forged line into the
 * log. A value is therefore written as it is only when it is plain; otherwise it is quoted with
 * JSON-style escapes, so every host write is exactly one line and no value can pose as a key:
 * <ul>
 *   <li>any control character (C0, C1), line or paragraph separator, or format character
 *       (bidirectional overrides and the like) in the value;</li>
 *   <li>a {@code "} or {@code \};</li>
 *   <li>whitespace followed by {@code word=} (it would read as another field, e.g. a second
 *       {@code policy=});</li>
 *   <li>leading or trailing whitespace, or an empty value.</li>
 * </ul>
 * Ordinary values, including {@code 1.2.3.4:80 (example.com)} and paths with single spaces, keep
 * the guide's form.
 */
final class LogLine {

    private static final Pattern FIELD_LIKE = Pattern.compile("\\s[A-Za-z_][A-Za-z0-9_.-]*=");

    private LogLine() { }

    /** The {@code [BLOCKED]} part for {@code d}, with unsafe values quoted. */
    static String blocked(Decision.Deny d) {
        String op = value(d.operation());
        String target = value(d.target());
        String rule = value(d.rule());
        if (op.equals(d.operation()) && target.equals(d.target()) && rule.equals(d.rule())) {
            return d.blockedLine();
        }
        return new Decision.Deny(d.category(), op, target, rule, d.reason(), d.fix()).blockedLine();
    }

    /** {@code s} as is when plain, else quoted and escaped. */
    static String value(String s) {
        return plain(s) ? s : quote(s);
    }

    /** Free text (a message): control and separator characters escaped, never a line break. */
    static String text(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (unsafe(c) || c == '\\') {
                escape(b, c);
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }

    static boolean plain(String s) {
        if (s.isEmpty() || Character.isWhitespace(s.charAt(0)) || Character.isWhitespace(s.charAt(s.length() - 1))) {
            return false;
        }
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            if (unsafe(c) || c == '"' || c == '\\') {
                return false;
            }
            i += Character.charCount(c);
        }
        return !FIELD_LIKE.matcher(s).find();
    }

    private static boolean unsafe(int c) {
        if (Character.isISOControl(c)) {
            return true;
        }
        int t = Character.getType(c);
        return t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR || t == Character.FORMAT
                || t == Character.SURROGATE || t == Character.UNASSIGNED && c > 0xFFFF;
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8).append('"');
        s.codePoints().forEach(c -> {
            if (c == '"' || c == '\\' || unsafe(c)) {
                escape(b, c);
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }

    private static void escape(StringBuilder b, int c) {
        switch (c) {
            case '"' -> b.append("\\\"");
            case '\\' -> b.append("\\\\");
            case '\n' -> b.append("\\n");
            case '\r' -> b.append("\\r");
            case '\t' -> b.append("\\t");
            default -> {
                for (char ch : Character.toChars(c)) {
                    b.append(String.format("\\u%04x", (int) ch));
                }
            }
        }
    }
}
