package dev.cordon;

import dev.cordon.audit.Audit;
import dev.cordon.decision.Decision;
import dev.cordon.graalpy.ContextShape;
import dev.cordon.graalpy.SessionGates;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * Builds each session's enforcement points from the policy: the one place where the gates are
 * wired to a session. The gates decide; this class only assembles them.
 */
final class Gates {

    private Gates() { }

    /** What the pool's contexts must have in common for this policy. */
    static ContextShape shape(Policy p) {
        return new ContextShape(List.of(), false, environment(p));
    }

    /** The guest's whole environment: nothing of the host's leaks in. */
    static Map<String, String> environment(Policy p) {
        String ws = p.filesystem().workspaceDir();
        return Map.of("HOME", ws, "PWD", ws, "TMPDIR", "/tmp", "LANG", "C.UTF-8", "PATH", "/usr/local/bin:/usr/bin:/bin",
                "PYTHONDONTWRITEBYTECODE", "1");
    }

    static Audit audit(String session, Policy p, Workspace ws, Path jsonl) {
        String logFile = p.logging().logFile();
        Path hostLog = null;
        if (logFile != null) {
            Path inside = ws.toHost(logFile);
            hostLog = inside != null ? inside : Path.of(logFile);
        }
        return new Audit(session, p.logging(), hostLog, jsonl);
    }

    static SessionGates forSession(String name, Policy p, Workspace ws, Audit audit) {
        FileSystem fs = FileSystem.newDefaultFileSystem(); // TEMPORARY-UNSAFE: replaced by dev.cordon.fs at merge
        ProcessHandler processes = command -> {
            String cmd = command.getCommand().isEmpty() ? "?" : Path.of(command.getCommand().get(0)).getFileName().toString();
            Decision.Deny d = new Decision.Deny(Decision.Category.SUBPROCESS, "exec", cmd, "subprocess.allow",
                    "this policy allows no subprocesses",
                    "execution.sandbox.subprocess: {allow: true, allowed_commands: [\"" + cmd + "\"]}");
            audit.blocked(d);
            throw new IOException(d.message());
        };
        return new SessionGates(fs, processes, c -> { }, c -> { }, ws::outputs, () -> { }, () -> 0L);
    }
}
