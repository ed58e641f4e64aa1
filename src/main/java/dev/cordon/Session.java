package dev.cordon;

import dev.cordon.graalpy.ContextPool;
import dev.cordon.graalpy.GuestSession;
import dev.cordon.policy.Policy;
import dev.cordon.worker.WorkerPool;
import dev.cordon.worker.WorkerSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A named session: its own interpreter, workspace and audit. Calls of one session run one at a time
 * (in order); calls of different sessions run in parallel.
 *
 * <p>Guest {@code /tmp} is a private directory of the session, outside the workspace on the host
 * but counted in the same {@code max_size_mb} quota, and removed when the session closes.
 *
 * <p>With {@code execution.isolation: worker} (GraalPy engine) the session runs in its own worker
 * JVM ({@link dev.cordon.worker}): the same session code, gates and limits, in a process whose
 * death the host survives. This object then only forwards to it.
 */
public final class Session implements AutoCloseable {

    private final Sandbox sandbox;
    private final String name;
    private final Workspace workspace;
    private Path hostTmp;
    private final Path auditJsonl;
    private GuestSession guest;
    private Gates.Bound gates;
    /** The session's worker when it runs in one (then guest, gates and hostTmp are null). */
    private WorkerSession remote;
    private int processesSeen;
    private boolean hostChanged;
    private boolean closed;

    Session(Sandbox sandbox, String name, Path hostWorkspace, Policy policy, ContextPool pool, Path auditJsonl) {
        this.sandbox = sandbox;
        this.name = name;
        this.auditJsonl = auditJsonl;
        this.workspace = new Workspace(policy.filesystem(), hostWorkspace);
        workspace.create();
        if (WorkerPool.applies(policy)) {
            // The worker builds the gates and the private /tmp itself.
            this.remote = sandbox.workers().open(name, workspace.host(), workspace::outputs);
            return;
        }
        this.hostTmp = createTmp(workspace.host(), name);
        this.gates = Gates.forSession(name, policy, workspace, hostTmp, auditJsonl, this::childStdout, this::childStderr);
        this.guest = new GuestSession(name, policy, pool, gates.gates(), gates.audit());
        gates.audit().sessionOpened(policy, gates.nativeSession() != null);
    }

    /**
     * The host directory behind guest {@code /tmp}: beside the workspace when its parent is
     * writable, so that {@code os.replace} between /tmp and the workspace stays one atomic rename on
     * one filesystem; else in the system temp dir.
     */
    private static Path createTmp(Path hostWorkspace, String name) {
        Path parent = hostWorkspace.getParent();
        try {
            if (parent != null && Files.isWritable(parent)) {
                return Files.createTempDirectory(parent, ".cordon-tmp-" + name + "-");
            }
            return Files.createTempDirectory("cordon-tmp-" + name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the session's temp dir next to " + hostWorkspace, e);
        }
    }

    public String name() {
        return name;
    }

    /** The host directory behind the guest's workspace. */
    public Path workspace() {
        return workspace.host();
    }

    public synchronized Policy policy() {
        return remote != null ? remote.policy() : gates.policy();
    }

    /** Runs {@code code} with empty stdin. Never throws for anything guest code does. */
    public ExecResult exec(String code) {
        return exec(code, null);
    }

    /** Runs {@code code} with {@code stdin} as its standard input. Never throws for anything guest code does. */
    public synchronized ExecResult exec(String code, byte[] stdin) {
        Objects.requireNonNull(code, "code");
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
        if (remote != null) {
            return remote.exec(code, stdin);
        }
        if (hostChanged) {
            // Uploads since the last call: count their bytes before guest code writes more.
            gates.fileSystem().rescan();
            hostChanged = false;
        }
        ExecResult r;
        if (gates.packagesFailure() != null) {
            // Fail closed: the policy promises packages this host cannot provide; nothing ran.
            r = new ExecResult(ExecResult.Status.ERROR, null, "", "", false,
                    new ExecResult.Error("PackagesUnavailable", gates.packagesFailure(), null), java.util.List.of(),
                    workspace.outputs(), dev.cordon.nativetier.EngineChoice.useNative(gates.policy()) ? "native" : "graalpy",
                    name, new ExecResult.Timing(0, 0));
        } else if (gates.nativeSession() != null) {
            r = gates.nativeSession().exec(code, stdin);
            // The call's denials as the session's audit saw them: the worker's own (exec, pip) and
            // the egress proxy's, which decides on its threads and reports only to the audit.
            r = r.withBlocked(gates.audit().drainCall());
        } else if (gates.nativeFailure() != null && dev.cordon.nativetier.EngineChoice.useNative(gates.policy())) {
            // Fail closed: the policy wants the native engine and it cannot run here; nothing ran.
            r = new ExecResult(ExecResult.Status.ERROR, null, "", "", false,
                    new ExecResult.Error("NativeTierUnavailable", gates.nativeFailure(), null), java.util.List.of(),
                    workspace.outputs(), "native", name, new ExecResult.Timing(0, 0));
        } else {
            r = guest.exec(code, stdin);
        }
        int ran = gates.processesRun().get();
        if (ran != processesSeen || gates.nativeSession() != null) {
            // Sandboxed processes wrote to the workspace behind the filesystem gate's back: recount.
            processesSeen = ran;
            gates.fileSystem().rescan();
        }
        // The time of each pip install the call made (Cordon's installer), for the caller.
        r = r.withNotices(gates.installer().drainNotices());
        gates.audit().callEnded(r);
        return r;
    }

    private java.io.OutputStream childStdout() {
        GuestSession g = guest;
        return g == null ? java.io.OutputStream.nullOutputStream() : g.stdoutSink();
    }

    private java.io.OutputStream childStderr() {
        GuestSession g = guest;
        return g == null ? java.io.OutputStream.nullOutputStream() : g.stderrSink();
    }

    /** Copies a host file into the policy's upload dir under its own name; returns the guest path. */
    public synchronized String upload(Path file) throws IOException {
        if (remote != null) {
            return remote.upload(file);
        }
        gates.fileSystem().rescan(); // the upload dir is a real directory again, whatever guest code did
        hostChanged = true;
        return workspace.toGuest(workspace.upload(file, file.getFileName().toString()));
    }

    /** Writes {@code content} into the upload dir as {@code fileName}; returns the guest path. */
    public synchronized String upload(String fileName, byte[] content) throws IOException {
        if (remote != null) {
            return remote.upload(fileName, content);
        }
        gates.fileSystem().rescan();
        hostChanged = true;
        return workspace.toGuest(workspace.upload(fileName, content));
    }

    /**
     * Switches to {@code newPolicy} from the next call (dev-mode reload). Workspace files are kept;
     * Python globals are kept when the new policy needs the same kind of interpreter.
     */
    synchronized void reload(Policy newPolicy, ContextPool pool) {
        if (closed) {
            return;
        }
        boolean toWorker = WorkerPool.applies(newPolicy);
        if (remote != null && toWorker) {
            remote.reload(newPolicy);
            return;
        }
        if (remote != null) {
            // From a worker back into this JVM: a fresh interpreter here, workspace files kept.
            remote.close();
            remote = null;
            hostTmp = createTmp(workspace.host(), name);
            gates = Gates.forSession(name, newPolicy, workspace, hostTmp, auditJsonl, this::childStdout, this::childStderr);
            processesSeen = 0;
            guest = new GuestSession(name, newPolicy, pool, gates.gates(), gates.audit());
            return;
        }
        if (toWorker) {
            guest.close();
            gates.close();
            Workspace.deleteTree(hostTmp);
            guest = null;
            gates = null;
            hostTmp = null;
            remote = sandbox.workers().open(name, workspace.host(), workspace::outputs);
            return;
        }
        // The old gates go first: a native workspace mount must be released before the new one is made.
        gates.close();
        gates = Gates.forSession(name, newPolicy, workspace, hostTmp, auditJsonl, this::childStdout, this::childStderr);
        processesSeen = 0;
        guest.rebind(newPolicy, pool, gates.gates(), gates.audit());
        gates.audit().reloaded(newPolicy);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (remote != null) {
                remote.close();
            } else {
                gates.audit().sessionClosed();
                guest.close();
                gates.close();
                Workspace.deleteTree(hostTmp);
            }
            sandbox.forget(this);
        }
    }
}
