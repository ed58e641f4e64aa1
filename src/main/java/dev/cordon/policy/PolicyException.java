package dev.cordon.policy;

import java.util.List;

/**
 * A policy that cannot be used: the message names the file, line and column, the YAML path and
 * what is wrong, e.g. {@code openclaw.exec.yaml:7:15: execution.sandbox.network.policy: unknown
 * value "sometimes" (expected one of: deny, restricted, permissive)}.
 *
 * <p>The loader reports every value error it finds (up to {@value #MAX_ERRORS}), sorted by
 * position: the accessors describe the first one, {@link #errors()} lists all of them, and
 * {@link #getMessage()} has one line per error. A YAML syntax error, an oversized file, an alias or
 * nesting too deep stops the read at once and is the only error.
 */
public class PolicyException extends Exception {

    /** Bound on the errors collected from one file; the rest are counted, not listed. */
    public static final int MAX_ERRORS = 20;

    private final String source;
    private final int line;
    private final int column;
    private final String yamlPath;
    private final String problem;
    /** Null for a single error (a list holding {@code this} would leak it from the constructor). */
    private final List<PolicyException> errors;

    /**
     * @param source   file name or other label of the policy text
     * @param line     1-based line, or 0 when unknown
     * @param column   1-based column, or 0 when unknown
     * @param yamlPath dotted path of the offending key, e.g. {@code execution.sandbox.network.policy}; may be empty
     * @param problem  what is wrong and, where it helps, what would be right
     */
    public PolicyException(String source, int line, int column, String yamlPath, String problem) {
        super(format(source, line, column, yamlPath, problem));
        this.source = source;
        this.line = line;
        this.column = column;
        this.yamlPath = yamlPath;
        this.problem = problem;
        this.errors = null; // just this one; see errors()
    }

    /** All of {@code errors} (non-empty, sorted), reported as one exception; {@code more} were not listed. */
    PolicyException(List<PolicyException> errors, int more) {
        super(combined(errors, more));
        PolicyException first = errors.getFirst();
        this.source = first.source;
        this.line = first.line;
        this.column = first.column;
        this.yamlPath = first.yamlPath;
        this.problem = first.problem;
        this.errors = List.copyOf(errors);
    }

    private static String combined(List<PolicyException> errors, int more) {
        StringBuilder b = new StringBuilder();
        for (PolicyException e : errors) {
            if (!b.isEmpty()) {
                b.append('\n');
            }
            b.append(e.getMessage());
        }
        if (more > 0) {
            b.append('\n').append("(").append(more).append(" more errors not shown)");
        }
        return b.toString();
    }

    private static String format(String source, int line, int column, String yamlPath, String problem) {
        StringBuilder b = new StringBuilder(source == null ? "<policy>" : source);
        if (line > 0) {
            b.append(':').append(line);
            if (column > 0) {
                b.append(':').append(column);
            }
        }
        b.append(": ");
        if (yamlPath != null && !yamlPath.isEmpty()) {
            b.append(printable(yamlPath)).append(": ");
        }
        return b.append(printable(problem)).toString();
    }

    /**
     * Text from the policy file as an error message may show it: control characters, line and
     * paragraph separators, bidirectional overrides and lone surrogates become Java-style escapes
     * (backslash, u, four hex digits), so an error is always one line and a policy cannot make it
     * look like other lines.
     */
    static String printable(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean hide = c < 0x20 || c >= 0x7f && c <= 0x9f || c >= 0x200b && c <= 0x200f || c == 0x2028
                    || c == 0x2029 || c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069 || c == 0xfeff
                    || Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < s.length()
                            && Character.isLowSurrogate(s.charAt(i + 1)))
                            && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
            if (hide && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (hide) {
                b.append(String.format("\\u%04x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    public String source() { return source; }

    public int line() { return line; }

    public int column() { return column; }

    public String yamlPath() { return yamlPath; }

    public String problem() { return problem; }

    /** Every error found, first one first; a single-element list for a single error. */
    public List<PolicyException> errors() { return errors == null ? List.of(this) : errors; }
}
