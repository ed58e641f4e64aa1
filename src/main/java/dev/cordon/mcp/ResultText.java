package dev.cordon.mcp;

import dev.cordon.ExecResult;

/**
 * One call's result as the text a model reads back from a tool: what the code printed, then,
 * only when present, the error, each blocked operation with the rule and the fix, the output files
 * and notices. Integrations whose tool answer is a single string (MCP text content, LangChain4j
 * tools and {@code CodeExecutionEngine}) share it so a model sees the same thing everywhere.
 *
 * <p>The sections are labelled in brackets rather than formatted as JSON: models read and act on
 * prose more reliably, and the full structured result stays available where the protocol has room
 * for it (MCP {@code structuredContent}, {@link ExecResult} in Java).
 */
public final class ResultText {

    /** Said when a call printed nothing: the usual reason a model sees "nothing" is a missing print(). */
    static final String NO_OUTPUT = "(no output: the code ran; print() what you want to see)";

    private ResultText() { }

    public static String of(ExecResult r) {
        StringBuilder b = new StringBuilder();
        b.append(r.stdout());
        if (r.stdoutTruncated() && !r.stdout().endsWith("\n")) {
            b.append('\n');
        }
        if (!r.stderr().isEmpty()) {
            section(b, "stderr").append(r.stderr());
        }
        ExecResult.Error e = r.error();
        if (e != null) {
            section(b, r.status() == ExecResult.Status.LIMIT ? "limit: " + json(r.limit()) : "error");
            // Python's traceback already ends with "Type: message"; Cordon's own statuses have none.
            if (e.traceback() != null && !e.traceback().isBlank()) {
                b.append(e.traceback().strip());
            } else {
                b.append(e.type()).append(": ").append(e.message());
            }
        } else if (r.status() == ExecResult.Status.LIMIT) {
            section(b, "limit: " + json(r.limit())).append("the call was stopped by a limit");
        }
        for (ExecResult.Blocked x : r.blocked()) {
            section(b, "blocked").append(x.operation()).append(' ').append(x.target())
                    .append(" (policy rule ").append(x.policy()).append("): ").append(x.reason())
                    .append(". Fix: ").append(x.fix());
        }
        if (!r.outputs().isEmpty()) {
            section(b, "outputs");
            String sep = "";
            for (ExecResult.Output o : r.outputs()) {
                b.append(sep).append(o.path()).append(" (").append(o.bytes()).append(" bytes)");
                sep = ", ";
            }
        }
        for (String n : r.notices()) {
            section(b, "notice").append(n);
        }
        return b.toString().isBlank() ? NO_OUTPUT : b.toString();
    }

    private static StringBuilder section(StringBuilder b, String label) {
        if (!b.isEmpty() && b.charAt(b.length() - 1) != '\n') {
            b.append('\n');
        }
        return b.append('[').append(label).append("] ");
    }

    private static String json(ExecResult.Limit l) {
        return l == null ? "unknown" : l.json();
    }
}
