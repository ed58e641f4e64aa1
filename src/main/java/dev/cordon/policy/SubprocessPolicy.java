package dev.cordon.policy;

import java.util.List;

/**
 * {@code execution.sandbox.subprocess}.
 *
 * @param allow             whether any process may start (default false)
 * @param allowedCommands   command names that may start; nothing else does
 * @param blockedCommands   command names that never start, even when also allowed
 * @param maxRuntimeSeconds wall-clock bound of one process tree (default 30)
 */
public record SubprocessPolicy(boolean allow, List<String> allowedCommands, List<String> blockedCommands, int maxRuntimeSeconds) {

    public SubprocessPolicy {
        allowedCommands = List.copyOf(allowedCommands);
        blockedCommands = List.copyOf(blockedCommands);
    }

    public static final SubprocessPolicy DENY_ALL = new SubprocessPolicy(false, List.of(), List.of(), 30);
}
