package dev.cordon.policy;

import java.util.Objects;

/**
 * {@code logging}, found under {@code execution} or {@code execution.sandbox} (never both), merged
 * with {@code network.logging} ({@code egress}, {@code log_bodies}).
 *
 * <p>The three file components are guest paths when they lie inside the workspace (guest code may
 * read them, never write them) and host paths otherwise (written by the host, invisible to guest
 * code). The loader makes them absolute and normalised, and keeps them distinct.
 *
 * @param level                {@code level}: debug, info, warn, error (default info)
 * @param logBlockedOperations write a {@code [BLOCKED]} line per denial to {@code logFile} (default true)
 * @param logFile              {@code log_file}: where {@code [BLOCKED]} lines go, or null
 * @param egress               {@code network.logging.egress}: record each allowed connection (default false)
 * @param logBodies            {@code network.logging.log_bodies}: add the first bytes of each direction to
 *                             the egress log (default false)
 * @param auditFile            {@code audit_file} (extension key): the JSON-lines audit stream, or null
 * @param egressFile           {@code egress_file} (extension key): the egress log, or null
 */
public record LoggingPolicy(
        Level level,
        boolean logBlockedOperations,
        String logFile,
        boolean egress,
        boolean logBodies,
        String auditFile,
        String egressFile) {

    public LoggingPolicy {
        Objects.requireNonNull(level, "level");
    }

    /** Without the extension keys ({@code audit_file}, {@code egress_file} unset). */
    public LoggingPolicy(Level level, boolean logBlockedOperations, String logFile, boolean egress, boolean logBodies) {
        this(level, logBlockedOperations, logFile, egress, logBodies, null, null);
    }

    public static final LoggingPolicy DEFAULT = new LoggingPolicy(Level.INFO, true, null, false, false, null, null);

    public enum Level {
        DEBUG, INFO, WARN, ERROR;

        public String yamlName() { return name().toLowerCase(java.util.Locale.ROOT); }

        public boolean enables(Level other) { return other.ordinal() >= ordinal(); }
    }
}
