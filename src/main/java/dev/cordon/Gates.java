package dev.cordon;

import dev.cordon.agent.GuestErrors;
import dev.cordon.audit.Audit;
import dev.cordon.decision.Decision;
import dev.cordon.fs.WorkspaceFileSystem;
import dev.cordon.fs.WorkspaceLayout;
import dev.cordon.graalpy.ContextShape;
import dev.cordon.graalpy.SessionGates;
import dev.cordon.policy.Policy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    /**
     * One session's gates for one policy. Closing it releases what the gates hold; the session's
     * files stay.
     */
    record Bound(Policy policy, WorkspaceFileSystem fileSystem, Audit audit, SessionGates gates) implements AutoCloseable {
        @Override
        public void close() {
            fileSystem.close();
        }
    }

    static Bound forSession(String name, Policy p, Workspace ws, Path hostTmp, Path auditJsonlOverride) {
        Audit audit = audit(name, p, ws, auditJsonlOverride);
        List<String> protectedFiles = new ArrayList<>();
        for (String f : new String[] {p.logging().logFile(), p.logging().auditFile(), p.logging().egressFile()}) {
            if (f != null) {
                protectedFiles.add(f);
            }
        }
        WorkspaceFileSystem fs = WorkspaceFileSystem.create(
                new WorkspaceLayout(p.filesystem(), ws.host(), hostTmp, protectedFiles, List.of()), audit);
        ProcessHandler processes = command -> {
            String cmd = command.getCommand().isEmpty() ? "?" : Path.of(command.getCommand().get(0)).getFileName().toString();
            Decision.Deny d = p.subprocess().allow()
                    ? new Decision.Deny(Decision.Category.SUBPROCESS, "exec", cmd, "subprocess.allow",
                            "this build of Cordon cannot run subprocesses yet (the native tier is not wired in)",
                            "nothing in the policy can allow it in this build")
                    : new Decision.Deny(Decision.Category.SUBPROCESS, "exec", cmd, "subprocess.allow",
                            "this policy allows no subprocesses",
                            "execution.sandbox.subprocess: {allow: true, allowed_commands: [\"" + cmd + "\"]}");
            audit.blocked(d);
            throw GuestErrors.exception(GuestErrors.EACCES, d.message());
        };
        SessionGates gates = new SessionGates(fs, processes, c -> { }, c -> { }, ws::outputs, fs::resetForFreshCall,
                fs::usedBytes, fs::changes);
        return new Bound(p, fs, audit, gates);
    }

    /** The session's audit: {@code log_file} and {@code audit_file} are guest paths when inside the workspace. */
    static Audit audit(String session, Policy p, Workspace ws, Path auditJsonlOverride) {
        Path jsonl = auditJsonlOverride != null ? auditJsonlOverride : hostPath(ws, p.logging().auditFile());
        return new Audit(session, p.logging(), hostPath(ws, p.logging().logFile()), jsonl);
    }

    private static Path hostPath(Workspace ws, String file) {
        if (file == null) {
            return null;
        }
        Path inside = ws.toHost(file);
        return inside != null ? inside : Path.of(file);
    }
}
