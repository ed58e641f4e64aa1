package dev.cordon;

import dev.cordon.audit.Audit;
import dev.cordon.graalpy.ContextPool;
import dev.cordon.graalpy.GuestSession;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A named session: its own interpreter, workspace and audit. Calls of one session run one at a time
 * (in order); calls of different sessions run in parallel.
 */
public final class Session implements AutoCloseable {

    private final Sandbox sandbox;
    private final String name;
    private final Workspace workspace;
    private final Audit audit;
    private final Path auditJsonl;
    private GuestSession guest;
    private volatile Policy policy;
    private boolean closed;

    Session(Sandbox sandbox, String name, Path hostWorkspace, Policy policy, ContextPool pool, Path auditJsonl) {
        this.sandbox = sandbox;
        this.name = name;
        this.policy = policy;
        this.auditJsonl = auditJsonl;
        this.workspace = new Workspace(policy.filesystem(), hostWorkspace);
        workspace.create();
        this.audit = Gates.audit(name, policy, workspace, auditJsonl);
        this.guest = new GuestSession(name, policy, pool, Gates.forSession(name, policy, workspace, audit), audit);
    }

    public String name() {
        return name;
    }

    /** The host directory behind the guest's workspace. */
    public Path workspace() {
        return workspace.host();
    }

    public Policy policy() {
        return policy;
    }

    /** Runs {@code code} with empty stdin. Never throws for anything guest code does. */
    public ExecResult exec(String code) {
        return exec(code, null);
    }

    /** Runs {@code code} with {@code stdin} as its standard input. */
    public synchronized ExecResult exec(String code, byte[] stdin) {
        Objects.requireNonNull(code, "code");
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
        return guest.exec(code, stdin);
    }

    /** Copies a host file into the policy's upload dir under its own name; returns the guest path. */
    public String upload(Path file) throws IOException {
        return workspace.toGuest(workspace.upload(file, file.getFileName().toString()));
    }

    /** Writes {@code content} into the upload dir as {@code fileName}; returns the guest path. */
    public String upload(String fileName, byte[] content) throws IOException {
        return workspace.toGuest(workspace.upload(fileName, content));
    }

    synchronized void reload(Policy newPolicy, ContextPool pool) {
        // Gates hold the policy they were built with; a session picks the new policy up by
        // rebuilding its gates and interpreter at the next call. Workspace files are kept.
        this.policy = newPolicy;
        if (!closed) {
            guest.close();
            Audit a = Gates.audit(name, newPolicy, workspace, auditJsonl);
            guest = new GuestSession(name, newPolicy, pool, Gates.forSession(name, newPolicy, workspace, a), a);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            guest.close();
            sandbox.forget(this);
        }
    }
}
