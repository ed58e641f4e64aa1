package dev.cordon.worker;

import dev.cordon.ExecResult;
import dev.cordon.nativetier.EngineChoice;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyReport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The worker tier ({@code execution.isolation: worker}): GraalPy sessions run in child JVMs, one
 * session per JVM, each with its heap bounded by {@code max_memory_mb} plus a fixed overhead. A
 * limit breach, an out-of-memory error or a builtin that will not stop ends the worker process,
 * never the host; the call says so and the session's next call gets a fresh worker.
 *
 * <p>The pool keeps {@code warm} workers started and warmed (JVM up, agent installed, engine and
 * one interpreter ready) for new sessions: a cold worker costs seconds of CPU, a warm one a queue
 * poll and the session's set-up in the worker. One background thread refills the pool, one worker
 * at a time and at low priority, so warming never takes every core from calls in flight. With
 * {@code warm == 0} workers start when a session needs one.
 *
 * <p>Owned by a {@link dev.cordon.Sandbox}; sessions get theirs from {@link #open}.
 */
public final class WorkerPool implements AutoCloseable {

    /** How long a worker may take to start and warm up (a loaded 2-core CI machine needs ~15 s). */
    static final long START_TIMEOUT_MS = 180_000;

    private final Path workspaceRoot;
    private final Path auditJsonl;
    private final int target;
    private final BlockingDeque<WorkerProcess> ready = new LinkedBlockingDeque<>();
    private final AtomicInteger building = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object signal = new Object();
    private final Thread refiller;
    private volatile Policy policy;
    private volatile String lastStartFailure;
    /** Workers between start and READY: killed by {@link #close} so no thread waits on them. */
    private final java.util.Set<WorkerProcess> starting = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * @param policy        the sandbox's policy (its isolation is {@code worker})
     * @param warm          workers kept started and warm for new sessions (0: start on demand)
     * @param workspaceRoot the sandbox's workspace root
     * @param auditJsonl    the sandbox's JSON-lines audit override, or null
     */
    public WorkerPool(Policy policy, int warm, Path workspaceRoot, Path auditJsonl) {
        if (warm < 0) {
            throw new IllegalArgumentException("warm workers must be >= 0");
        }
        this.policy = Objects.requireNonNull(policy, "policy");
        this.target = warm;
        this.workspaceRoot = workspaceRoot;
        this.auditJsonl = auditJsonl;
        if (warm > 0) {
            refiller = Thread.ofPlatform().name("cordon-worker-refill").daemon(true).priority(Thread.MIN_PRIORITY)
                    .unstarted(this::refillLoop);
            refiller.start();
        } else {
            refiller = null;
        }
    }

    /**
     * Whether a policy runs its sessions in workers: {@code execution.isolation: worker} with the
     * GraalPy engine. The native engine already runs each session in its own sandboxed process
     * (with a cgroup memory limit), so a JVM around it would add cost and no isolation.
     */
    public static boolean applies(Policy p) {
        return p.isolation() == Policy.Isolation.WORKER && !EngineChoice.useNative(p);
    }

    /**
     * A session named {@code name} whose workspace is {@code hostWorkspace}. Its worker is taken
     * from the pool at its first call.
     *
     * @param outputs the host's listing of the session's output dir (for calls whose worker died)
     */
    public WorkerSession open(String name, Path hostWorkspace, Supplier<List<ExecResult.Output>> outputs) {
        if (closed.get()) {
            throw new IllegalStateException("the worker pool is closed");
        }
        return new WorkerSession(this, name, hostWorkspace, outputs);
    }

    Policy policy() {
        return policy;
    }

    /**
     * Uses {@code p} for workers started from now on; warm workers prepared for the old policy are
     * ended. Running sessions are switched by their own {@link WorkerSession#reload}.
     */
    public void reload(Policy p) {
        this.policy = Objects.requireNonNull(p, "policy");
        WorkerProcess w;
        while ((w = ready.pollFirst()) != null) {
            retire(w);
        }
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    /** Warm workers ready now. */
    public int ready() {
        return ready.size();
    }

    /** Workers kept warm. */
    public int size() {
        return target;
    }

    /** Blocks until the pool holds its target number of warm workers, or the timeout passes. */
    public void awaitWarm(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (ready.size() < target && System.currentTimeMillis() < deadline && !closed.get()) {
            Thread.sleep(20);
        }
    }

    /** A warm worker for {@code p} if one is ready, else one started now on the caller's thread. */
    WorkerProcess take(Policy p) throws IOException {
        if (closed.get()) {
            throw new IllegalStateException("the worker pool is closed");
        }
        WorkerProcess w;
        while ((w = ready.pollFirst()) != null) {
            synchronized (signal) {
                signal.notifyAll();
            }
            if (w.alive() && p.equals(policy)) {
                return w;
            }
            retire(w);
        }
        return start(p);
    }

    private WorkerProcess start(Policy p) throws IOException {
        WorkerProcess w = WorkerProcess.start(WorkerCommand.build(p));
        starting.add(w);
        try {
            if (closed.get()) {
                throw new IOException("the worker pool is closed");
            }
            Wire.Out hello = w.frame(Wire.HELLO);
            hello.str(PolicyReport.of(p).effectiveYaml());
            hello.str(p.source() == null ? null : p.source().toString());
            hello.str(auditJsonl == null ? null : auditJsonl.toString());
            hello.str(workspaceRoot.toString());
            w.hello(START_TIMEOUT_MS);
            return w;
        } catch (IOException | RuntimeException e) {
            int status = w.reap(1000);
            String why = w.killedBecause() != null ? "it " + w.killedBecause() + " within " + START_TIMEOUT_MS / 1000 + " s"
                    : WorkerProcess.describeExit(status);
            throw new IOException("cannot start a worker JVM (" + why + "): " + e.getMessage(), e);
        } finally {
            starting.remove(w);
        }
    }

    /** Ends a worker that never served a session. */
    private static void retire(WorkerProcess w) {
        w.kill("was not needed");
        w.reap(5000);
    }

    private void refillLoop() {
        while (!closed.get()) {
            try {
                if (ready.size() + building.get() < target) {
                    building.incrementAndGet();
                    Policy p = policy;
                    try {
                        WorkerProcess w = start(p);
                        if (closed.get() || !p.equals(policy)) {
                            retire(w);
                        } else {
                            ready.addLast(w);
                            lastStartFailure = null;
                        }
                    } finally {
                        building.decrementAndGet();
                    }
                } else {
                    synchronized (signal) {
                        signal.wait(1000);
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                String msg = String.valueOf(e.getMessage());
                if (!msg.equals(lastStartFailure)) {
                    System.err.println("cordon: warming a worker failed: " + msg);
                    lastStartFailure = msg;
                }
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Ends the warm workers and the refill thread. Sessions close their own workers. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (WorkerProcess w : starting) {
                w.kill("was still starting when the pool closed");
            }
            if (refiller != null) {
                refiller.interrupt();
                try {
                    refiller.join(30_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            WorkerProcess w;
            while ((w = ready.pollFirst()) != null) {
                retire(w);
            }
        }
    }
}
