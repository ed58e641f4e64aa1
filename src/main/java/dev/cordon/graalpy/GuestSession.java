package dev.cordon.graalpy;

import dev.cordon.ExecResult;
import dev.cordon.audit.Audit;
import dev.cordon.decision.Decision;
import dev.cordon.policy.Policy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;

/**
 * One session of the in-JVM tier: a GraalPy context bound to its workspace and gates, running one
 * call at a time under the watchdog.
 *
 * <p>Each call runs on the session's own runner thread so that the caller can give up on guest code
 * that ignores interruption (some long builtins do: DESIGN.md section 3). Such a context is retired
 * and the next call gets a fresh one; its thread is abandoned, which is the in-JVM tier's limit.
 */
public final class GuestSession implements AutoCloseable {

    /** After a limit trips, how long guest code has to stop before its context is retired. */
    static final long STOP_GRACE_MS = 3000;
    /** How many recent snippets keep their Source (only those up to {@link #SOURCE_CACHE_CHARS}). */
    private static final int SOURCE_CACHE = 32;
    private static final int SOURCE_CACHE_CHARS = 64 * 1024;

    private final String name;
    private ContextPool pool;
    private SessionGates gates;
    private Audit audit;
    private Policy policy;
    private volatile PooledContext bound;
    private CallRunner runner;
    private int calls;
    private boolean closed;
    private String pendingNotice;
    /** The bound context has not run its begin hook yet. */
    private boolean needsBegin;
    /** {@link SessionGates#changes()} right after the last fresh-call reset (none yet: MIN_VALUE). */
    private long cleanAt = Long.MIN_VALUE;
    /** The last output listing and the {@link SessionGates#changes()} reading it was taken at. */
    private List<ExecResult.Output> outputs;
    private long outputsAt = Long.MIN_VALUE;
    /**
     * Recently run code and its Source: an agent often re-sends the same snippet, and an equal
     * Source object skips building and hashing a new one before the engine's own parse cache.
     */
    private final Map<String, Source> sources = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Source> e) {
            return size() > SOURCE_CACHE;
        }
    };

    public GuestSession(String name, Policy policy, ContextPool pool, SessionGates gates, Audit audit) {
        this.name = name;
        this.policy = policy;
        this.pool = pool;
        this.gates = gates;
        this.audit = audit;
    }

    public String name() {
        return name;
    }

    /** Where a child process's inherited stdout goes: the current call's stdout (nowhere between calls). */
    public java.io.OutputStream stdoutSink() {
        PooledContext pc = bound;
        return pc == null ? java.io.OutputStream.nullOutputStream() : pc.stdout;
    }

    /** The same for stderr. */
    public java.io.OutputStream stderrSink() {
        PooledContext pc = bound;
        return pc == null ? java.io.OutputStream.nullOutputStream() : pc.stderr;
    }

    /**
     * Switches the session to a new policy from its next call (dev-mode hot reload). When the new
     * policy needs the same kind of context ({@link ContextShape}), the interpreter and its Python
     * globals are kept and only the gates are swapped; otherwise the next call starts a fresh
     * interpreter, and the result says so.
     *
     * @return whether the interpreter (and its globals) was kept
     */
    public synchronized boolean rebind(Policy newPolicy, ContextPool newPool, SessionGates newGates, Audit newAudit) {
        boolean keep = bound != null && bound.shape.equals(newPool.shape());
        if (bound != null && !keep) {
            retire();
            pendingNotice = "the new policy needs a different interpreter setup: this call runs in a fresh "
                    + "interpreter, and Python globals from earlier calls are gone (workspace files are kept)";
        }
        if (keep) {
            gates.detach().accept(bound.context);
        }
        this.policy = newPolicy;
        this.pool = newPool;
        this.gates = newGates;
        this.audit = newAudit;
        cleanAt = Long.MIN_VALUE;
        outputs = null;
        if (keep) {
            bindGates(bound);
        }
        return keep || bound == null && calls == 0;
    }

    public synchronized ExecResult exec(String code, byte[] stdin) {
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
        Policy p = policy;
        long t0 = System.nanoTime();
        List<String> notices = new ArrayList<>(1);
        if (pendingNotice != null) {
            notices.add(pendingNotice);
            pendingNotice = null;
        }
        if (bound == null) {
            bind(pool.acquire());
        }
        boolean fresh = !p.filesystem().persistAcrossCalls();
        if (fresh && calls > 0) {
            // persist_across_calls: false. The globals were cleared and the cwd restored by the
            // previous call's end hook; the files are reset here, unless nothing changed them
            // through the gate since the last reset (then there is nothing to undo, and the reset
            // would only cost a tree walk per call).
            long changes = gates.changes().getAsLong();
            if (changes != cleanAt) {
                gates.freshWorkspace().run();
                cleanAt = gates.changes().getAsLong();
            }
        }
        calls++;
        audit.drainCall();
        CallOutput output = new CallOutput(p.resources().maxOutputBytes());
        PooledContext pc = bound;
        pc.stdout.target(output.stdout());
        pc.stderr.target(output.stderr());
        pc.stdin.source(stdin);
        Source source = source(code);
        Call call = new Call(pc, p, output);
        String home = p.filesystem().workspaceDir();
        String beginCwd = needsBegin ? home : null;
        needsBegin = false;
        Future<Value> f = runner.submit(() -> {
            call.start();
            try {
                if (beginCwd != null) {
                    pc.beginSession(beginCwd);
                }
                return pc.context.eval(source);
            } finally {
                if (call.limit.get() == null) {
                    try {
                        pc.endCall(fresh, home);
                    } catch (PolyglotException e) {
                        // Flushing is best effort; the call's own outcome is what we report.
                    }
                }
                call.finish();
            }
        });
        Watchdog.get().watch(call);
        Outcome outcome;
        try {
            outcome = await(f, call);
        } finally {
            Watchdog.get().unwatch(call);
            pc.stdout.target(null);
            pc.stderr.target(null);
            pc.stdin.source(null);
        }
        if (call.limit.get() != null) {
            // Context.interrupt runs on its own thread and may still be interrupting the runner
            // after the call ended: an interrupt that lands during the drain's flush closes the
            // context's stdout channel for good (ClosedByInterruptException: every later print
            // is a BrokenPipeError). Let it finish first.
            call.awaitInterrupt(STOP_GRACE_MS);
        }
        if (!outcome.retire && call.limit.get() != null && !drain(pc, fresh, home)) {
            outcome = new Outcome(outcome.status, outcome.error, true);
        }
        if (!outcome.retire && (pc.stdout.closedByGuest() || pc.stderr.closedByGuest() || pc.stdin.closedByGuest())) {
            // os.close(0/1/2): the emulated backend's channel over the stream is gone for good, so
            // every later print (or input) of this interpreter would fail with EBADF.
            outcome = new Outcome(outcome.status, outcome.error, true);
            notices.add("the call closed standard input, output or error (file descriptor 0, 1 or 2), which this "
                    + "interpreter cannot reopen");
        }
        if (outcome.retire) {
            notices.add("the session's interpreter was reset after this call; Python globals from earlier calls are gone "
                    + "(workspace files are kept)");
            retire();
        }
        List<Decision.Deny> denied = audit.drainCall();
        if (output.overflowed()) {
            // The call may end before the watchdog's next look: the cut output is still a limit.
            call.limit.compareAndSet(null, ExecResult.Limit.OUTPUT);
        }
        ExecResult.Limit limit = call.limit.get();
        ExecResult.Status status = outcome.status;
        if (limit == null && status == ExecResult.Status.ERROR) {
            limit = limitFromDenials(denied);
            if (limit != null) {
                status = ExecResult.Status.LIMIT;
            }
        }
        if (limit != null) {
            status = ExecResult.Status.LIMIT;
        }
        ExecResult.Error error = outcome.error;
        if (limit != null && error == null) {
            error = new ExecResult.Error("LimitExceeded", limitMessage(limit, p), null);
        }
        List<ExecResult.Blocked> blocked = new ArrayList<>();
        for (Decision.Deny d : denied) {
            blocked.add(ExecResult.Blocked.of(d));
        }
        long wallMs = (System.nanoTime() - t0) / 1_000_000;
        return new ExecResult(status, limit, output.stdoutText(), output.stderrText(),
                output.overflowed(), error, blocked, outputs(), "graalpy", name,
                new ExecResult.Timing(wallMs, call.finalCpuNanos() / 1_000_000), notices);
    }

    private Source source(String code) {
        Source s = sources.get(code);
        if (s == null) {
            s = Source.newBuilder("python", code, "<cordon>").cached(true).buildLiteral();
            if (code.length() <= SOURCE_CACHE_CHARS) {
                sources.put(code, s);
            }
        }
        return s;
    }

    /** Files under output_dir: listed again only when something changed through the gate since the last listing. */
    private List<ExecResult.Output> outputs() {
        long changes = gates.changes().getAsLong();
        if (outputs == null || changes != outputsAt) {
            outputs = List.copyOf(gates.outputs().get());
            outputsAt = changes;
        }
        return outputs;
    }

    /**
     * After a limit stopped guest code, its Python-level stdout/stderr buffers may still hold output
     * the call did not get to flush. Flush them now, while the streams point nowhere, so the leftover
     * never shows up in the next call's output.
     *
     * @return false if the interpreter did not answer in time (the caller retires it)
     */
    private boolean drain(PooledContext pc, boolean fresh, String home) {
        try {
            runner.submit(() -> {
                try {
                    pc.endCall(fresh, home);
                } catch (PolyglotException e) {
                    // a flush that raised: the buffers are gone either way; the probe decides
                }
                // The interrupt that stopped the guest can land inside a write to fd 1 or 2; Java
                // then closes that channel for good (ClosedByInterruptException) and every later
                // print fails with BrokenPipeError. Probe both (the streams point nowhere now).
                pc.context.eval("python", "import os as __o\n__o.write(1, b' ')\n__o.write(2, b' ')\ndel __o");
                return null;
            }).get(STOP_GRACE_MS, TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            return false; // stdout or stderr is broken: this interpreter cannot serve another call
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (TimeoutException | RuntimeException e) {
            return false;
        }
    }

    private record Outcome(ExecResult.Status status, ExecResult.Error error, boolean retire) { }

    private Outcome await(Future<Value> f, Call call) {
        while (true) {
            try {
                CallRunner.await(f, Watchdog.PERIOD_MS * 2);
                return new Outcome(ExecResult.Status.OK, null, false);
            } catch (TimeoutException e) {
                long tripped = call.trippedAt;
                if (tripped != 0 && System.nanoTime() - tripped > STOP_GRACE_MS * 1_000_000L) {
                    // The guest ignored the interrupt (a long builtin): give up on this context and
                    // its thread; the session goes on with a fresh one.
                    f.cancel(true);
                    abandonRunner();
                    return new Outcome(ExecResult.Status.LIMIT, new ExecResult.Error("LimitExceeded",
                            limitMessage(call.limit.get(), call.policy)
                                    + " The guest did not stop within " + STOP_GRACE_MS
                                    + " ms of the interrupt (a long-running builtin); its interpreter was retired.",
                            null), true);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                call.trip(ExecResult.Limit.WALL);
            } catch (ExecutionException e) {
                return classify(e.getCause(), call);
            }
        }
    }

    private Outcome classify(Throwable t, Call call) {
        if (!(t instanceof PolyglotException pe)) {
            return new Outcome(ExecResult.Status.ERROR,
                    new ExecResult.Error("EngineError", String.valueOf(t), null), true);
        }
        if (call.limit.get() != null || pe.isInterrupted()) {
            if (call.limit.get() == null) {
                call.limit.compareAndSet(null, ExecResult.Limit.WALL);
            }
            return new Outcome(ExecResult.Status.LIMIT, null, !alive(call.pc));
        }
        if (pe.isExit()) {
            int code = pe.getExitStatus();
            boolean dead = !alive(call.pc);
            return code == 0 ? new Outcome(ExecResult.Status.OK, null, dead)
                    : new Outcome(ExecResult.Status.ERROR,
                            new ExecResult.Error("SystemExit", "exit status " + code, null), dead);
        }
        if (pe.isCancelled()) {
            return new Outcome(ExecResult.Status.ERROR,
                    new ExecResult.Error("Cancelled", "the call was cancelled", null), true);
        }
        if (pe.isResourceExhausted()) {
            call.limit.compareAndSet(null, ExecResult.Limit.MEMORY);
            return new Outcome(ExecResult.Status.LIMIT, null, !alive(call.pc));
        }
        if (pe.isGuestException() && String.valueOf(pe.getMessage()).contains("java.lang.ThreadDeath")) {
            // os._exit() on a thread other than the one that built the context: Truffle unwinds it
            // with ThreadDeath instead of an exit. The interpreter is gone either way: retire it.
            return new Outcome(ExecResult.Status.ERROR,
                    new ExecResult.Error("SystemExit", "the interpreter exited (os._exit)", null), true);
        }
        if (pe.isGuestException()) {
            String type = guestType(pe);
            String msg = pe.getMessage() == null ? "" : pe.getMessage();
            if (msg.startsWith(type + ": ")) {
                msg = msg.substring(type.length() + 2);
            } else if (msg.equals(type)) {
                msg = "";
            }
            if ("MemoryError".equals(type)) {
                call.limit.compareAndSet(null, ExecResult.Limit.MEMORY);
            }
            return new Outcome(ExecResult.Status.ERROR, new ExecResult.Error(type, msg, traceback(pe, type, msg)),
                    false);
        }
        // Internal errors of the engine: a message for the user, never a Java stack trace for the guest.
        return new Outcome(ExecResult.Status.ERROR,
                new ExecResult.Error("EngineError", "GraalPy internal error: " + pe.getMessage(), null),
                !alive(call.pc));
    }

    private static String guestType(PolyglotException pe) {
        try {
            Value g = pe.getGuestObject();
            if (g != null && g.getMetaObject() != null) {
                Value meta = g.getMetaObject();
                String simple = meta.getMetaSimpleName();
                return ExecResult.Error.CORDON_TYPES.contains(simple)
                        ? ExecResult.Error.guestType(simple, meta.getMetaQualifiedName())
                        : simple;
            }
        } catch (RuntimeException e) {
            // fall through: a guest object whose type cannot be read
        }
        return "Exception";
    }

    /** Formats the guest frames host-side, the way Python prints a traceback. */
    private static String traceback(PolyglotException pe, String type, String msg) {
        List<String> frames = new ArrayList<>();
        for (PolyglotException.StackFrame fr : pe.getPolyglotStackTrace()) {
            if (!fr.isGuestFrame()) {
                continue;
            }
            var loc = fr.getSourceLocation();
            String file = loc == null ? "<unknown>" : loc.getSource().getName();
            int line = loc == null ? 0 : loc.getStartLine();
            String fn = fr.getRootName() == null ? "<module>" : fr.getRootName();
            StringBuilder b = new StringBuilder("  File \"").append(file).append("\", line ").append(line)
                    .append(", in ").append(fn);
            if (loc != null && loc.getSource().hasCharacters() && !file.startsWith("<frozen")) {
                try {
                    String src = loc.getSource().getCharacters(line).toString().strip();
                    if (!src.isEmpty()) {
                        b.append("\n    ").append(src);
                    }
                } catch (RuntimeException e) {
                    // no source text for this line
                }
            }
            frames.add(b.toString());
        }
        java.util.Collections.reverse(frames);
        StringBuilder tb = new StringBuilder("Traceback (most recent call last):\n");
        for (String f : frames) {
            tb.append(f).append('\n');
        }
        tb.append(type);
        if (!msg.isEmpty()) {
            tb.append(": ").append(msg);
        }
        return tb.append('\n').toString();
    }

    private static ExecResult.Limit limitFromDenials(List<Decision.Deny> denied) {
        for (Decision.Deny d : denied) {
            if (d.rule().equals("filesystem.max_size_mb")) {
                return ExecResult.Limit.DISK;
            }
            if (d.rule().equals("resources.max_processes")) {
                return ExecResult.Limit.PROCESSES;
            }
        }
        return null;
    }

    static String limitMessage(ExecResult.Limit limit, Policy p) {
        var r = p.resources();
        return switch (limit) {
            case CPU -> "CPU time limit of " + r.maxCpuSeconds() + " s exceeded (resources.max_cpu_seconds). To raise it: execution.sandbox.resources.max_cpu_seconds: " + r.maxCpuSeconds() * 2;
            case WALL -> "wall-clock limit of " + r.maxWallSeconds() + " s exceeded (resources.max_wall_seconds). To raise it: execution.sandbox.resources.max_wall_seconds: " + r.maxWallSeconds() * 2;
            case MEMORY -> "memory limit of " + r.maxMemoryMb() + " MB exceeded (resources.max_memory_mb). To raise it: execution.sandbox.resources.max_memory_mb: " + r.maxMemoryMb() * 2;
            case OUTPUT -> "output limit of " + r.maxOutputSizeMb() + " MB exceeded (resources.max_output_size_mb). To raise it: execution.sandbox.resources.max_output_size_mb: " + r.maxOutputSizeMb() * 2;
            case DISK -> "workspace size limit of " + p.filesystem().maxSizeMb() + " MB reached (filesystem.max_size_mb). To raise it: execution.sandbox.filesystem.max_size_mb: " + p.filesystem().maxSizeMb() * 2;
            case PROCESSES -> "process limit of " + r.maxProcesses() + " reached (resources.max_processes). To raise it: execution.sandbox.resources.max_processes: " + r.maxProcesses() * 2;
        };
    }

    /**
     * Whether the context still runs code. Asked on the runner, with the stop grace as a deadline:
     * after an interrupt, a guest thread that was torn down can leave GraalPy's GIL held forever
     * (seen once under heavy load in LimitsTest.spinningThreadsCountTowardCpu), and an eval on the
     * caller's thread would then wait for it with no end. Unanswered in time means dead: the
     * context is retired and the runner given up.
     */
    private boolean alive(PooledContext pc) {
        if (runner == null) {
            return false;
        }
        Future<Value> f = runner.submit(() -> pc.context.eval("python", "None"));
        try {
            f.get(STOP_GRACE_MS, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            f.cancel(true);
            abandonRunner();
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | RuntimeException e) {
            return false;
        }
    }

    private void bind(PooledContext pc) {
        bindGates(pc);
        bound = pc;
        needsBegin = true;
        newRunner();
    }

    private void bindGates(PooledContext pc) {
        pc.fileSystem.bind(gates.fileSystem());
        pc.processHandler.bind(gates.processes());
        gates.attach().accept(pc.context);
    }

    private void newRunner() {
        runner = bound.runner;
        runner.thread().setName("cordon-session-" + name);
    }

    private void abandonRunner() {
        runner.abandon();
        runner = null;
    }

    private void retire() {
        PooledContext pc = bound;
        bound = null;
        if (pc == null) {
            return;
        }
        try {
            gates.detach().accept(pc.context);
        } finally {
            SharedEngine.get().threads().forget(pc.context);
            // Platform threads: Truffle warns about contexts used from virtual threads.
            Thread.ofPlatform().daemon(true).name("cordon-close-" + name).start(() -> {
                pc.close();
                SharedEngine.get().threads().forget(pc.context);
            });
            if (runner != null) {
                runner.shutdown();
                runner = null;
            }
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            retire();
        }
    }

    /** One running call, as the watchdog sees it. */
    final class Call {
        final PooledContext pc;
        final Policy policy;
        final CallOutput output;
        final AtomicReference<ExecResult.Limit> limit = new AtomicReference<>();
        volatile long trippedAt;
        private volatile boolean started;
        private long startNanos;
        /** The runner thread and its counters at start and end, read on the runner itself (the cheap way). */
        private Thread runner;
        private long runnerCpu0;
        private long runnerAlloc0;
        private long runnerCpuEnd = -1;
        /** Other guest threads alive at start (rare: threads a previous call left running). */
        private Map<Thread, Long> cpuBase = Map.of();
        private Map<Thread, Long> allocBase = Map.of();
        private long retiredBase;
        private long heapBase;
        private volatile long lastCpu;

        Call(PooledContext pc, Policy policy, CallOutput output) {
            this.pc = pc;
            this.policy = policy;
            this.output = output;
        }

        /** Runs on the runner thread, just before guest code starts. */
        synchronized void start() {
            Watchdog w = Watchdog.get();
            runner = Thread.currentThread();
            runnerCpu0 = w.currentCpuNanos();
            runnerAlloc0 = w.currentAllocatedBytes();
            Set<Thread> others = SharedEngine.get().threads().threadsOf(pc.context);
            if (!others.isEmpty() && !(others.size() == 1 && others.contains(runner))) {
                cpuBase = new HashMap<>();
                allocBase = new HashMap<>();
                for (Thread t : others) {
                    if (t != runner) {
                        cpuBase.put(t, w.cpuNanos(t));
                        allocBase.put(t, w.allocatedBytes(t));
                    }
                }
            }
            retiredBase = SharedEngine.get().threads().retiredCpuNanos(pc.context);
            heapBase = w.heapUsed();
            startNanos = System.nanoTime();
            started = true;
        }

        /** Runs on the runner thread once guest code and the end hook returned. */
        synchronized void finish() {
            if (started) {
                runnerCpuEnd = Watchdog.get().currentCpuNanos();
            }
        }

        long cpuNanos() {
            return lastCpu;
        }

        /** CPU of the runner so far: its final reading once finished, else read by thread id. */
        private long runnerCpu(Watchdog w) {
            return (runnerCpuEnd >= 0 ? runnerCpuEnd : w.cpuNanos(runner)) - runnerCpu0;
        }

        /** CPU of the guest's other threads since start (threads that ended count through the registry). */
        private long otherCpu(Watchdog w) {
            long cpu = SharedEngine.get().threads().retiredCpuNanos(pc.context) - retiredBase;
            for (Thread t : SharedEngine.get().threads().threadsOf(pc.context)) {
                if (t != runner) {
                    cpu += w.cpuNanos(t) - cpuBase.getOrDefault(t, 0L);
                }
            }
            return cpu;
        }

        /** CPU of the whole call, read once it ended (the watchdog's last sample may be 10 ms old). */
        synchronized long finalCpuNanos() {
            if (!started) {
                return 0;
            }
            Watchdog w = Watchdog.get();
            return Math.max(runnerCpu(w) + otherCpu(w), lastCpu);
        }

        synchronized void check(Watchdog w) {
            if (!started || limit.get() != null) {
                return;
            }
            var r = policy.resources();
            if (output.overflowed()) {
                trip(ExecResult.Limit.OUTPUT);
                return;
            }
            if (System.nanoTime() - startNanos > r.maxWallSeconds() * 1_000_000_000L) {
                trip(ExecResult.Limit.WALL);
                return;
            }
            long cpu = runnerCpu(w) + otherCpu(w);
            long alloc = w.allocatedBytes(runner) - runnerAlloc0;
            for (Thread t : SharedEngine.get().threads().threadsOf(pc.context)) {
                if (t != runner) {
                    alloc += w.allocatedBytes(t) - allocBase.getOrDefault(t, 0L);
                }
            }
            lastCpu = cpu;
            if (cpu > r.maxCpuSeconds() * 1_000_000_000L) {
                trip(ExecResult.Limit.CPU);
                return;
            }
            long limitBytes = r.maxMemoryMb() * 1024L * 1024L;
            // Cheap filter first: a call cannot hold more than it allocated. Only then look at the
            // heap, and only then pay for a collection to see what is really live.
            if (alloc > limitBytes && w.heapUsed() - heapBase > limitBytes) {
                long live = w.liveHeapAfterGc();
                if (live - heapBase > limitBytes || live > w.heapMax() * 9 / 10) {
                    trip(ExecResult.Limit.MEMORY);
                }
            }
        }

        private volatile Thread interrupter;

        /** Waits (bounded) until the interrupt started by {@link #trip} has returned. */
        void awaitInterrupt(long millis) {
            Thread t = interrupter;
            if (t != null) {
                try {
                    t.join(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        void trip(ExecResult.Limit l) {
            if (limit.compareAndSet(null, l)) {
                trippedAt = System.nanoTime();
                Context ctx = pc.context;
                interrupter = Thread.ofPlatform().daemon(true).name("cordon-interrupt-" + name).start(() -> {
                    try {
                        ctx.interrupt(Duration.ofMillis(STOP_GRACE_MS));
                    } catch (TimeoutException | RuntimeException e) {
                        // The caller's grace timer retires the context.
                    }
                });
            }
        }
    }
}
