package dev.cordon.decision;

/**
 * Where a gate reports each denial it enforces: the session's audit (log file, JSON lines, and the
 * current call's {@code blocked} list). Implementations are thread-safe and never throw.
 */
@FunctionalInterface
public interface DenialSink {
    void blocked(Decision.Deny deny);

    DenialSink NONE = d -> { };
}
