package dev.cordon.policy;

/**
 * A policy that cannot be used: the message names the file, line and column, the YAML path and
 * what is wrong, e.g. {@code openclaw.exec.yaml:7:15: execution.sandbox.network.policy: unknown
 * value "sometimes" (expected one of: restricted, permissive, deny)}.
 */
public class PolicyException extends Exception {

    private final String source;
    private final int line;
    private final int column;
    private final String yamlPath;
    private final String problem;

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
            b.append(yamlPath).append(": ");
        }
        return b.append(problem).toString();
    }

    public String source() { return source; }

    public int line() { return line; }

    public int column() { return column; }

    public String yamlPath() { return yamlPath; }

    public String problem() { return problem; }
}
