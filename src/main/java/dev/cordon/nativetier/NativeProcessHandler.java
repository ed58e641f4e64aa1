package dev.cordon.nativetier;

import dev.cordon.agent.GuestErrors;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.decision.ExecDecisions;
import dev.cordon.policy.Policy;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * The in-JVM tier's process gate: every process GraalPy starts ({@code subprocess}, {@code os.system},
 * {@code os.popen}, {@code os.execv}) comes here, is decided by {@link ExecDecisions}, and, when
 * allowed, runs in its own sandbox started by the native tier's launcher.
 *
 * <ul>
 *   <li>Denied: reported to the session's {@link DenialSink} and thrown as
 *       {@link GuestErrors#exception}({@code EACCES}): guest code gets {@code PermissionError} with
 *       Cordon's message. GraalPy calls once per PATH entry that holds the file; the repeats of one
 *       denial within a second on one thread are reported once.</li>
 *   <li>Allowed but missing on the host: {@link NoSuchFileException}, so GraalPy tries the next PATH
 *       entry and finally raises {@code FileNotFoundError}.</li>
 *   <li>More than {@code resources.max_processes} running at once: {@code BlockingIOError}
 *       ({@code EAGAIN}), rule {@code resources.max_processes}.</li>
 *   <li>{@code subprocess.max_runtime_seconds}: the whole sandbox is killed (every process in its
 *       cgroup and pid namespace), and the kill is audited.</li>
 *   <li>Paths in argv and cwd are guest paths: the workspace is mounted at {@code workspace_dir}
 *       inside the sandbox, so {@code /workspace/data.csv} means the same file there.</li>
 * </ul>
 *
 * <p>Wiring (the session's gates): {@code new NativeProcessHandler(policy, nativeWorkspace, audit,
 * stdoutSupplier, stderrSupplier)}, or {@link #create} when the handler owns its workspace.
 */
public final class NativeProcessHandler implements ProcessHandler, AutoCloseable {

    private static final ScheduledExecutorService TIMERS = Executors.newScheduledThreadPool(1, r -> {
        Thread t = new Thread(r, "cordon-native-timers");
        t.setDaemon(true);
        return t;
    });

    private final Policy policy;
    private final NativeWorkspace ws;
    private final boolean ownsWorkspace;
    private final DenialSink sink;
    private final Supplier<OutputStream> inheritOut;
    private final Supplier<OutputStream> inheritErr;
    private final List<String> masked;
    private final List<String> maskedWithBridge;
    private final Set<SandboxProcess> running = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<String> lastDenied = new ThreadLocal<>();
    private final ThreadLocal<Long> lastDeniedAt = new ThreadLocal<>();
    private volatile boolean closed;

    /**
     * @param policy     the session's policy
     * @param ws         the session's native workspace (shared with a {@link NativeSession} if any)
     * @param sink       the session's audit
     * @param inheritOut where a child's stdout goes when the guest did not pipe it (the current
     *                   call's stdout); null drops it
     * @param inheritErr the same for stderr
     */
    public NativeProcessHandler(Policy policy, NativeWorkspace ws, DenialSink sink, Supplier<OutputStream> inheritOut,
                                Supplier<OutputStream> inheritErr) {
        this(policy, ws, false, sink, inheritOut, inheritErr);
    }

    private NativeProcessHandler(Policy policy, NativeWorkspace ws, boolean owns, DenialSink sink,
                                 Supplier<OutputStream> inheritOut, Supplier<OutputStream> inheritErr) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.ws = Objects.requireNonNull(ws, "ws");
        this.ownsWorkspace = owns;
        this.sink = sink == null ? DenialSink.NONE : sink;
        this.inheritOut = inheritOut;
        this.inheritErr = inheritErr;
        this.masked = HostLayout.masksFor(policy.subprocess().blockedCommands(), policy.subprocess().allowedCommands(),
                null);
        // With egress the bridge runs on the worker's CPython: it stays executable even if python is blocked.
        this.maskedWithBridge = HostLayout.masksFor(policy.subprocess().blockedCommands(),
                policy.subprocess().allowedCommands(), ws.tier().config().python());
    }

    /**
     * A handler with its own workspace over {@code hostWorkspace}; {@link #close()} releases it.
     *
     * @throws NativeTierUnavailableException when the native tier cannot run here
     */
    public static NativeProcessHandler create(Policy policy, Path hostWorkspace, DenialSink sink) throws IOException {
        return create(NativeTier.get(), policy, hostWorkspace, sink);
    }

    /** {@link #create(Policy, Path, DenialSink)} on a given tier (configuration). */
    public static NativeProcessHandler create(NativeTier tier, Policy policy, Path hostWorkspace, DenialSink sink)
            throws IOException {
        NativeWorkspace ws = NativeWorkspace.open(tier, policy.filesystem(), hostWorkspace);
        return new NativeProcessHandler(policy, ws, true, sink, null, null);
    }

    /** The workspace its sandboxes use. */
    public NativeWorkspace workspace() {
        return ws;
    }

    long workspaceUid() {
        return ws.uid();
    }

    /** Sandboxes of this handler running now. */
    public int running() {
        running.removeIf(p -> !p.isAlive());
        return running.size();
    }

    @Override
    public Process start(ProcessCommand command) throws IOException {
        if (closed) {
            throw new IOException("the session's process gate is closed");
        }
        List<String> argv = command.getCommand();
        String exe = argv.isEmpty() ? "" : argv.getFirst();
        Decision d = ExecDecisions.decide(policy.subprocess(), exe);
        if (d instanceof Decision.Deny deny) {
            report(deny);
            throw GuestErrors.processDenied(GuestErrors.EACCES, deny.message());
        }
        String name = ExecDecisions.commandName(exe);
        Path hostExe = exe.indexOf('/') >= 0 ? Path.of(exe).normalize() : HostLayout.resolve(name);
        if (hostExe == null || !Files.isRegularFile(hostExe) || !Files.isExecutable(hostExe)) {
            throw new NoSuchFileException(exe, null, "no such command on " + Specs.TRUSTED_PATH);
        }
        for (String m : masked) {
            if (hostExe.toRealPath().toString().equals(m)) {
                // Allowed by name but the same file as a blocked command (e.g. a link): blocked wins.
                Decision.Deny deny = new Decision.Deny(Decision.Category.SUBPROCESS, "exec", name,
                        "subprocess.blocked_commands", name + " is the same program as a blocked command (" + m + ")",
                        "remove that command from execution.sandbox.subprocess.blocked_commands");
                report(deny);
                throw GuestErrors.processDenied(GuestErrors.EACCES, deny.message());
            }
        }
        if (ws.quota() == NativeWorkspace.Quota.SCAN && ws.freeBytes() <= 0) {
            // The scanning fallback cannot stop a write in flight: at least start nothing new.
            Decision.Deny deny = diskFull(ws);
            report(deny);
            throw GuestErrors.processDenied(GuestErrors.ENOSPC, deny.message());
        }
        int max = Math.max(1, policy.resources().maxProcesses());
        synchronized (running) {
            running.removeIf(p -> !p.isAlive());
            if (running.size() >= max) {
                Decision.Deny deny = ExecDecisions.tooManyProcesses(max, name);
                report(deny);
                throw GuestErrors.processDenied(GuestErrors.EAGAIN, deny.message());
            }
            List<String> sandboxArgv = new ArrayList<>(argv);
            sandboxArgv.set(0, hostExe.toString());
            int port = 0;
            if (ws.egressProxy() != null) {
                // The sandbox's only interface is loopback: a small bridge process relays
                // 127.0.0.1:BRIDGE_PORT to the host proxy, then runs the command as its child.
                port = EgressProxy.BRIDGE_PORT;
                List<String> wrapped = new ArrayList<>(List.of(ws.tier().config().python().toString(), "-I", "-S", "-B",
                        SandboxSpec.LIB_IN_SANDBOX + "/cordon_bridge.py", Integer.toString(port), "--"));
                wrapped.addAll(sandboxArgv);
                sandboxArgv = wrapped;
            }
            boolean pumpOut = command.getOutputRedirect() == Redirect.INHERIT;
            boolean pumpErr = command.getErrorRedirect() == Redirect.INHERIT && !command.isRedirectErrorStream();
            Launcher.Request req = new Launcher.Request(ws, policy, sandboxArgv, cwd(command.getDirectory()),
                    command.getEnvironment(), port, false, port == 0 ? masked : maskedWithBridge,
                    command.getInputRedirect() == Redirect.INHERIT
                            ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.PIPE,
                    ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, command.isRedirectErrorStream());
            Sandboxed box = ws.tier().launcher().start(req);
            SandboxProcess proc = SandboxProcess.of(box, pumpOut, inheritOut, pumpErr, inheritErr);
            running.add(proc);
            watch(proc, name);
            return proc;
        }
    }

    private void watch(SandboxProcess proc, String name) {
        int seconds = policy.subprocess().maxRuntimeSeconds();
        ScheduledFuture<?> runtime = seconds <= 0 ? null : TIMERS.schedule(() -> {
            if (proc.isAlive()) {
                proc.sandbox().kill();
                sink.blocked(new Decision.Deny(Decision.Category.RESOURCES, "runtime", name,
                        "subprocess.max_runtime_seconds",
                        name + " ran longer than " + seconds + " s; its whole process tree was killed",
                        "raise execution.sandbox.subprocess.max_runtime_seconds to " + seconds * 2));
            }
        }, seconds, TimeUnit.SECONDS);
        java.util.concurrent.atomic.AtomicBoolean killedForDisk = new java.util.concurrent.atomic.AtomicBoolean();
        ScheduledFuture<?> disk = ws.quota() != NativeWorkspace.Quota.SCAN ? null : TIMERS.scheduleWithFixedDelay(() -> {
            if (proc.isAlive() && ws.freeBytes() <= 0 && killedForDisk.compareAndSet(false, true)) {
                proc.sandbox().kill();
                sink.blocked(diskFull(ws));
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
        java.util.concurrent.atomic.AtomicBoolean diskReported = new java.util.concurrent.atomic.AtomicBoolean();
        proc.onExit().thenRun(() -> {
            if (runtime != null) {
                runtime.cancel(false);
            }
            if (disk != null) {
                disk.cancel(false);
                // A burst that finished between two scans is still reported.
                if (!killedForDisk.get() && ws.freeBytes() <= 0 && diskReported.compareAndSet(false, true)) {
                    sink.blocked(diskFull(ws));
                }
            }
            running.remove(proc);
        });
    }

    static Decision.Deny diskFull(NativeWorkspace ws) {
        long mb = ws.filesystem().maxSizeMb();
        return new Decision.Deny(Decision.Category.FILESYSTEM, "write", ws.filesystem().workspaceDir(),
                "filesystem.max_size_mb", "the workspace reached its size bound of " + mb + " MB",
                "delete files in the workspace, or raise execution.sandbox.filesystem.max_size_mb to " + mb * 2);
    }

    /** The sandbox working directory: a guest path; the host workspace path is translated. */
    private String cwd(String dir) {
        String wsDir = policy.filesystem().workspaceDir();
        if (dir == null || dir.isEmpty() || !dir.startsWith("/")) {
            return wsDir;
        }
        Path d = Path.of(dir).normalize();
        Path host = ws.host();
        if (d.startsWith(host)) {
            return Path.of(wsDir).resolve(host.relativize(d).toString()).normalize().toString();
        }
        return d.toString();
    }

    private void report(Decision.Deny deny) {
        // GraalPy retries a start once per PATH entry holding the file: report a denial once.
        String key = deny.rule() + " " + deny.target();
        long now = System.nanoTime();
        Long at = lastDeniedAt.get();
        if (key.equals(lastDenied.get()) && at != null && now - at < 1_000_000_000L) {
            return;
        }
        lastDenied.set(key);
        lastDeniedAt.set(now);
        sink.blocked(deny);
    }

    /** Kills every running sandbox of this handler; releases the workspace if the handler owns it. */
    @Override
    public void close() {
        closed = true;
        for (SandboxProcess p : running) {
            p.sandbox().kill();
        }
        for (SandboxProcess p : running) {
            p.sandbox().awaitGone(2000);
        }
        running.clear();
        if (ownsWorkspace) {
            ws.close();
        }
    }
}
