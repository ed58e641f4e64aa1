package dev.cordon.graalpy;

import dev.cordon.ExecResult;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * The enforcement points of one session, bound into its context. The session only wires them; the
 * decisions live in the gates.
 *
 * @param fileSystem     the workspace filesystem gate
 * @param processes      the process gate
 * @param attach         called with the context when it is bound (e.g. network gate registration)
 * @param detach         called with the context when it is released
 * @param outputs        lists files in the output dir after a call
 * @param freshWorkspace resets the workspace (uploads kept) before a call when nothing persists
 * @param workspaceUsed  bytes in the workspace now, to tell a full disk from other write errors
 * @param changes        a counter that moves whenever the workspace may have changed (the filesystem
 *                       gate's {@code changes()}): equal readings let the session skip a fresh-call
 *                       reset with nothing to undo and reuse its output listing
 */
public record SessionGates(
        FileSystem fileSystem,
        ProcessHandler processes,
        Consumer<Context> attach,
        Consumer<Context> detach,
        Supplier<List<ExecResult.Output>> outputs,
        Runnable freshWorkspace,
        java.util.function.LongSupplier workspaceUsed,
        java.util.function.LongSupplier changes) {

    /** Gates without a change counter: every call resets (when asked to) and lists outputs again. */
    public SessionGates(FileSystem fileSystem, ProcessHandler processes, Consumer<Context> attach,
            Consumer<Context> detach, Supplier<List<ExecResult.Output>> outputs, Runnable freshWorkspace,
            java.util.function.LongSupplier workspaceUsed) {
        this(fileSystem, processes, attach, detach, outputs, freshWorkspace, workspaceUsed, alwaysChanged());
    }

    private static java.util.function.LongSupplier alwaysChanged() {
        java.util.concurrent.atomic.AtomicLong n = new java.util.concurrent.atomic.AtomicLong();
        return n::incrementAndGet;
    }
}
