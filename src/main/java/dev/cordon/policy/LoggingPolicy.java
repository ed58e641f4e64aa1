package dev.cordon.policy;

import java.util.Objects;

/**
 * {@code logging}, found under {@code execution} or {@code execution.sandbox} (never both), merged
 * with {@code network.logging} ({@code egress}, {@code log_bodies}).
 *
 * @param level                {@code level}: debug, info, warn, error (default info)
 * @param logBlockedOperations write a {@code [BLOCKED]} line per denial to {@code logFile} (default true)
 * @param logFile              guest path (inside the workspace) or null: where {@code [BLOCKED]} lines go
 * @param egress               record each allowed connection (default false)
 * @param logBodies            add the first bytes of each direction to the egress log (default false)
 */
public record LoggingPolicy(Level level, boolean logBlockedOperations, String logFile, boolean egress, boolean logBodies) {

    public LoggingPolicy {
        Objects.requireNonNull(level, "level");
    }

    public static final LoggingPolicy DEFAULT = new LoggingPolicy(Level.INFO, true, null, false, false);

    public enum Level {
        DEBUG, INFO, WARN, ERROR;

        public String yamlName() { return name().toLowerCase(java.util.Locale.ROOT); }

        public boolean enables(Level other) { return other.ordinal() >= ordinal(); }
    }
}
