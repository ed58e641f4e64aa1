package dev.cordon.nativetier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.cordon.ExecResult;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.decision.ExecDecisions;
import dev.cordon.policy.Policy;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The native engine: Python code runs in a persistent CPython worker ({@code /usr/bin/python3 -I})
 * inside the sandbox, keeping its globals across calls like a REPL, and returns the same
 * {@link ExecResult} as the in-JVM tier with {@code engine: "native"}.
 *
 * <ul>
 *   <li>Limits per call: CPU ({@code max_cpu_seconds}, the sandbox's cgroup CPU time), wall
 *       ({@code max_wall_seconds}), output ({@code max_output_size_mb}, stdout and stderr together).
 *       When one trips, the worker is asked to stop (SIGUSR1 raises inside the guest code, globals
 *       survive); if it has not stopped {@value #STOP_GRACE_MS} ms later the sandbox is killed.
 *       Memory: RLIMIT_AS gives {@code MemoryError} (limit {@code memory}, worker survives); the
 *       memory cgroup's OOM kill ends the worker (limit {@code memory}). A full workspace
 *       ({@code OSError} ENOSPC while the workspace is full) is limit {@code disk}.</li>
 *   <li>Processes started by guest code are decided by the host ({@link ExecDecisions}, audited,
 *       {@code PermissionError}); the kernel enforces the same list with Landlock (only allowed
 *       commands' files can be executed), or forbids exec entirely where Landlock is missing or
 *       {@code subprocess.allow} is false.</li>
 *   <li>A worker that dies is reported ({@code status: error}, type {@code WorkerDied}, or
 *       {@code limit} when a limit killed it) and the next call starts a fresh one.</li>
 * </ul>
 *
 * <p>Which calls use it is the embedder's choice; {@link EngineChoice#useNative(Policy)} is the
 * documented {@code execution.engine} rule.
 */
public final class NativeSession implements AutoCloseable {

    static final long STOP_GRACE_MS = 2000;
    private static final long START_TIMEOUT_MS = 20_000;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ScheduledExecutorService WATCHDOG = Executors.newScheduledThreadPool(1, r -> {
        Thread t = new Thread(r, "cordon-native-watchdog");
        t.setDaemon(true);
        return t;
    });
    static final String WORKER = SandboxSpec.LIB_IN_SANDBOX + "/cordon_worker.py";

    private final String name;
    private final Policy policy;
    private final NativeWorkspace ws;
    private final boolean ownsWorkspace;
    private final DenialSink sink;
    private final List<String> execAllow;
    private final List<String> masked;
    private final List<String> preload;
    private Worker worker;
    private int calls;
    private boolean closed;

    private NativeSession(String name, Policy policy, NativeWorkspace ws, boolean owns, DenialSink sink) {
        this.name = Objects.requireNonNull(name, "name");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.ws = ws;
        this.ownsWorkspace = owns;
        this.sink = sink == null ? DenialSink.NONE : sink;
        this.execAllow = HostLayout.execAllowlist(policy.subprocess());
        this.masked = HostLayout.masksFor(policy.subprocess().blockedCommands(), policy.subprocess().allowedCommands(),
                ws.tier().config().python());
        this.preload = EngineChoice.preloadModules(policy);
    }

    /**
     * A session over {@code hostWorkspace} (created if missing) with its own native workspace;
     * the worker starts now.
     *
     * @throws NativeTierUnavailableException when the tier cannot run here (nothing started)
     */
    public static NativeSession create(String name, Policy policy, Path hostWorkspace, DenialSink sink)
            throws IOException {
        return create(NativeTier.get(), name, policy, hostWorkspace, sink);
    }

    /** {@link #create(String, Policy, Path, DenialSink)} on a given tier. */
    public static NativeSession create(NativeTier tier, String name, Policy policy, Path hostWorkspace,
                                       DenialSink sink) throws IOException {
        tier.requireAvailable();
        if (!Files.isExecutable(tier.config().python())) {
            throw new NativeTierUnavailableException("the native Python engine needs CPython at "
                    + tier.config().python() + " (install it: apt-get install -y python3); nothing was started");
        }
        NativeWorkspace ws = NativeWorkspace.open(tier, policy.filesystem(), hostWorkspace);
        NativeSession s = new NativeSession(name, policy, ws, true, sink);
        try {
            s.start();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** A session on a workspace shared with the session's {@link NativeProcessHandler}; it does not close it. */
    public static NativeSession create(String name, Policy policy, NativeWorkspace ws, DenialSink sink)
            throws IOException {
        ws.tier().requireAvailable();
        NativeSession s = new NativeSession(name, policy, ws, false, sink);
        s.start();
        return s;
    }

    public String name() {
        return name;
    }

    public NativeWorkspace workspace() {
        return ws;
    }

    /** Runs {@code code} with empty stdin. Never throws for anything guest code does. */
    public ExecResult exec(String code) {
        return exec(code, null);
    }

    /** Runs {@code code} in the session's worker, starting a fresh worker if there is none. */
    public synchronized ExecResult exec(String code, byte[] stdin) {
        Objects.requireNonNull(code, "code");
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
        long t0 = System.nanoTime();
        List<Decision.Deny> blocked = new CopyOnWriteArrayList<>();
        String notice = "";
        boolean fresh = !policy.filesystem().persistAcrossCalls() && calls > 0;
        calls++;
        if (fresh) {
            try {
                ws.reset(NativeWorkspace.protectedGuestFiles(policy));
            } catch (IOException e) {
                return engineError("cannot reset the workspace: " + e.getMessage(), t0, blocked);
            }
        }
        if (worker == null || !worker.alive()) {
            if (worker != null) {
                worker.kill();
            }
            worker = null;
            try {
                start();
            } catch (IOException | RuntimeException e) {
                return engineError("cannot start the Python worker: " + e.getMessage(), t0, blocked);
            }
        }
        Worker w = worker;
        Call call = w.run(code, stdin, fresh, blocked);
        if (call.died) {
            worker = null;
            notice = "\n[cordon: the session's Python worker was restarted; Python globals from earlier calls are gone]\n";
        }
        ExecResult.Limit limit = call.limit.get();
        ExecResult.Status status;
        ExecResult.Error error = call.error;
        if (limit == null && error != null && "MemoryError".equals(error.type())) {
            limit = ExecResult.Limit.MEMORY;
        }
        if (limit == null && call.errno == 28 && ws.freeBytes() <= 0) {
            limit = ExecResult.Limit.DISK;
            report(NativeProcessHandler.diskFull(ws), blocked);
        }
        if (limit != null) {
            status = ExecResult.Status.LIMIT;
            if (error == null || call.died || call.stopped) {
                error = new ExecResult.Error("LimitExceeded", limitMessage(limit, policy)
                        + (call.died ? " The worker was killed." : ""), null);
            }
        } else if (call.died) {
            status = ExecResult.Status.ERROR;
            error = new ExecResult.Error("WorkerDied", call.diedMessage, null);
        } else {
            status = error == null ? ExecResult.Status.OK : ExecResult.Status.ERROR;
        }
        List<ExecResult.Blocked> bl = new ArrayList<>();
        for (Decision.Deny d : blocked) {
            bl.add(ExecResult.Blocked.of(d));
        }
        long wallMs = (System.nanoTime() - t0) / 1_000_000;
        return new ExecResult(status, limit, call.stdout, call.stderr + notice, call.truncated, error, bl, outputs(),
                "native", name, new ExecResult.Timing(wallMs, call.cpuNanos / 1_000_000));
    }

    private ExecResult engineError(String message, long t0, List<Decision.Deny> blocked) {
        List<ExecResult.Blocked> bl = new ArrayList<>();
        for (Decision.Deny d : blocked) {
            bl.add(ExecResult.Blocked.of(d));
        }
        return new ExecResult(ExecResult.Status.ERROR, null, "", "", false,
                new ExecResult.Error("EngineError", message, null), bl, outputs(), "native", name,
                new ExecResult.Timing((System.nanoTime() - t0) / 1_000_000, 0));
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

    /** Files under output_dir, as guest paths, sorted. */
    private List<ExecResult.Output> outputs() {
        Path out = ws.toHostPath(policy.filesystem().outputDir());
        List<ExecResult.Output> list = new ArrayList<>();
        if (out == null || !Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)) {
            return list;
        }
        Path root = ws.bindSource();
        try (var s = Files.walk(out)) {
            for (Path f : s.toList()) {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isRegularFile()) {
                    list.add(new ExecResult.Output(Path.of(policy.filesystem().workspaceDir())
                            .resolve(root.relativize(f).toString()).toString(), a.size()));
                }
            }
        } catch (IOException e) {
            // a file vanished while listing: report what was seen
        }
        list.sort(Comparator.comparing(ExecResult.Output::path));
        return list;
    }

    private void report(Decision.Deny d, List<Decision.Deny> blocked) {
        blocked.add(d);
        sink.blocked(d);
    }

    // ---- the worker ----------------------------------------------------------------------------

    @SuppressWarnings("try") // the listener is closed early on purpose: that wakes accept() on timeout or exit
    private void start() throws IOException {
        NativeTier tier = ws.tier();
        Path sock = ws.ioDir().resolve("ctl.sock");
        Files.deleteIfExists(sock);
        // Egress exists only if the workspace has a proxy (NativeWorkspace#startEgress): then the
        // worker bridges 127.0.0.1:BRIDGE_PORT to it and the sandbox may create inet sockets.
        int port = ws.egressProxy() == null ? 0 : EgressProxy.BRIDGE_PORT;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            if (tier.root()) {
                NativeWorkspace.chown(sock, ws.uid(), ws.gid());
            }
            Launcher.Request req = new Launcher.Request(ws, policy,
                    List.of(tier.config().python().toString(), "-I", "-B", WORKER), policy.filesystem().workspaceDir(),
                    Map.of(), port, true, masked,
                    ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, false);
            Sandboxed box = tier.launcher().start(req);
            box.process.getOutputStream().close();
            OutputCapture capture = new OutputCapture();
            // Until the first call the streams carry only start-up failures: keep some for the error.
            capture.begin(new byte[] {0, 'n', 'o', 'n', 'e', 0}, 16 * 1024);
            capture.attach(box.process.getInputStream(), box.process.getErrorStream(), "cordon-" + name);
            ScheduledFuture<?> timeout = WATCHDOG.schedule(() -> {
                try {
                    server.close();
                } catch (IOException e) {
                    // closing wakes accept()
                }
            }, START_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            box.process.onExit().thenRun(() -> {
                try {
                    server.close();
                } catch (IOException e) {
                    // closing wakes accept()
                }
            });
            SocketChannel ctl;
            try {
                ctl = server.accept();
            } catch (IOException e) {
                box.kill();
                box.awaitGone(2000);
                capture.awaitEnd(500);
                throw new IOException("the Python worker did not connect (exit "
                        + (box.process.isAlive() ? "none" : Integer.toString(box.process.exitValue())) + "): "
                        + (capture.stdout() + capture.stderr()).strip());
            } finally {
                timeout.cancel(false);
                Files.deleteIfExists(sock); // one connection only: nothing else can reach the host here
            }
            Worker w = new Worker(box, ctl, capture);
            try {
                ObjectNode cfg = JSON.createObjectNode();
                cfg.put("op", "config");
                cfg.put("workspace", policy.filesystem().workspaceDir());
                boolean landlock = policy.subprocess().allow() && tier.landlockAbi() > 0;
                cfg.put("exec", landlock ? "landlock" : "noexec");
                var allow = cfg.putArray("exec_allow");
                execAllow.forEach(allow::add);
                if (!landlock) {
                    cfg.put("noexec_bpf", Base64.getEncoder().encodeToString(tier.noexecProgram()));
                }
                cfg.put("proxy_port", port);
                var pre = cfg.putArray("preload");
                preload.forEach(pre::add);
                w.send(cfg);
                JsonNode ready = w.read();
                if (ready == null || !"ready".equals(ready.path("op").asText())) {
                    box.awaitGone(1000);
                    capture.awaitEnd(500);
                    throw new IOException("the Python worker failed during start-up: "
                            + (capture.stdout() + capture.stderr()).strip());
                }
                capture.end();
                w.findPythonPid();
            } catch (IOException | RuntimeException e) {
                w.kill();
                throw e;
            }
            worker = w;
        }
    }

    interface LibC extends Library {
        int kill(int pid, int sig);
    }

    private static volatile LibC libc;

    private static LibC libc() {
        LibC l = libc;
        if (l == null) {
            l = libc = Native.load("c", LibC.class);
        }
        return l;
    }

    /** What one call produced. */
    private static final class Call {
        final AtomicReference<ExecResult.Limit> limit = new AtomicReference<>();
        volatile long trippedAt;
        long lastSignal;
        boolean died;
        boolean stopped;
        String diedMessage;
        ExecResult.Error error;
        int errno;
        String stdout = "";
        String stderr = "";
        boolean truncated;
        long cpuNanos;

        void trip(ExecResult.Limit l) {
            if (limit.compareAndSet(null, l)) {
                trippedAt = System.nanoTime();
            }
        }
    }

    private final class Worker {
        final Sandboxed box;
        final SocketChannel ctl;
        final DataInputStream in;
        final OutputStream out;
        final OutputCapture capture;
        long pythonPid = -1;
        long ids;

        Worker(Sandboxed box, SocketChannel ctl, OutputCapture capture) {
            this.box = box;
            this.ctl = ctl;
            this.in = new DataInputStream(Channels.newInputStream(ctl));
            this.out = Channels.newOutputStream(ctl);
            this.capture = capture;
        }

        boolean alive() {
            return box.process.isAlive() && ctl.isOpen();
        }

        void send(JsonNode n) throws IOException {
            byte[] b = JSON.writeValueAsBytes(n);
            byte[] frame = new byte[4 + b.length];
            frame[0] = (byte) (b.length >>> 24);
            frame[1] = (byte) (b.length >>> 16);
            frame[2] = (byte) (b.length >>> 8);
            frame[3] = (byte) b.length;
            System.arraycopy(b, 0, frame, 4, b.length);
            synchronized (out) {
                out.write(frame);
                out.flush();
            }
        }

        /** The next frame, or null at end of stream. */
        JsonNode read() throws IOException {
            int n;
            try {
                n = in.readInt();
            } catch (EOFException e) {
                return null;
            }
            if (n < 0 || n > 64 * 1024 * 1024) {
                throw new IOException("bad frame length " + n);
            }
            byte[] b = new byte[n];
            in.readFully(b);
            return JSON.readTree(b);
        }

        /**
         * The worker's host pid, for stop signals: the process whose argv[0] is the interpreter
         * (bwrap's own processes carry the worker's path among their arguments too).
         */
        void findPythonPid() {
            String argv0 = ws.tier().config().python() + "\0";
            for (int i = 0; i < 50 && pythonPid < 0; i++) {
                for (ProcessHandle h : box.process.descendants().toList()) {
                    try {
                        String cmd = Files.readString(Path.of("/proc", Long.toString(h.pid()), "cmdline"));
                        if (cmd.startsWith(argv0) && cmd.contains(WORKER)) {
                            pythonPid = h.pid();
                            return;
                        }
                    } catch (IOException e) {
                        // gone or not readable yet
                    }
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        void signalStop() {
            if (pythonPid > 0) {
                libc().kill((int) pythonPid, 10); // SIGUSR1: raises _CordonStop inside the guest code
            }
        }

        void kill() {
            box.kill();
            try {
                ctl.close();
            } catch (IOException e) {
                // already closed
            }
            box.awaitGone(2000);
        }

        Call run(String code, byte[] stdin, boolean fresh, List<Decision.Deny> blocked) {
            Call call = new Call();
            byte[] marker = ("\u0000cordon-end-" + HexFormat.of().formatHex(randomBytes()) + "\u0000")
                    .getBytes(StandardCharsets.US_ASCII);
            capture.begin(marker, policy.resources().maxOutputBytes());
            long cpu0 = box.cpuNanos();
            long oom0 = box.oomKills();
            long start = System.nanoTime();
            var r = policy.resources();
            ScheduledFuture<?> dog = WATCHDOG.scheduleWithFixedDelay(() -> {
                long now = System.nanoTime();
                if (capture.overflowed()) {
                    call.trip(ExecResult.Limit.OUTPUT);
                }
                if (r.maxWallSeconds() > 0 && now - start > r.maxWallSeconds() * 1_000_000_000L) {
                    call.trip(ExecResult.Limit.WALL);
                }
                if (r.maxCpuSeconds() > 0 && box.cpuNanos() - cpu0 > r.maxCpuSeconds() * 1_000_000_000L) {
                    call.trip(ExecResult.Limit.CPU);
                }
                if (ws.quota() == NativeWorkspace.Quota.SCAN && ws.freeBytes() <= 0) {
                    call.trip(ExecResult.Limit.DISK);
                }
                long tripped = call.trippedAt;
                if (tripped != 0) {
                    if (now - tripped > STOP_GRACE_MS * 1_000_000L) {
                        box.kill(); // the guest ignored the stop (blocked signal, long C call): end it
                    } else if (now - call.lastSignal > 250_000_000L) {
                        call.lastSignal = now; // again every 250 ms: guest code may catch one
                        signalStop();
                    }
                }
            }, 20, 20, TimeUnit.MILLISECONDS);
            try {
                ObjectNode req = JSON.createObjectNode();
                req.put("op", "exec");
                req.put("id", ++ids);
                req.put("code", code);
                if (stdin != null) {
                    req.put("stdin", Base64.getEncoder().encodeToString(stdin));
                }
                req.put("marker", new String(marker, StandardCharsets.US_ASCII));
                req.put("fresh", fresh);
                send(req);
                JsonNode done = null;
                while (done == null) {
                    JsonNode f = read();
                    if (f == null) {
                        break;
                    }
                    switch (f.path("op").asText()) {
                        case "exec?" -> send(decideExec(f, blocked));
                        case "done" -> done = f;
                        default -> { } // unknown frames are ignored (a guest writing to the socket)
                    }
                }
                if (done != null) {
                    capture.awaitEnd(2000);
                    String st = done.path("status").asText();
                    call.stopped = st.equals("stopped");
                    JsonNode e = done.path("error");
                    if (e.isObject()) {
                        call.error = new ExecResult.Error(e.path("type").asText("Exception"),
                                e.path("message").asText(""), e.path("traceback").isNull() ? null
                                : e.path("traceback").asText(null));
                        call.errno = e.path("errno").asInt(0);
                    }
                    if (call.stopped && call.limit.get() == null) {
                        call.trip(ExecResult.Limit.WALL); // a stop we did not ask for: treat as interrupted
                    }
                } else {
                    died(call, oom0);
                }
            } catch (IOException ex) {
                died(call, oom0);
            } finally {
                dog.cancel(false);
            }
            call.stdout = capture.stdout();
            call.stderr = capture.stderr();
            call.truncated = capture.overflowed();
            if (call.truncated) {
                call.trip(ExecResult.Limit.OUTPUT);
            }
            capture.end();
            long cpu1 = box.cpuNanos();
            call.cpuNanos = Math.max(0, cpu1 - cpu0);
            return call;
        }

        private void died(Call call, long oom0) {
            call.died = true;
            // Read the OOM count before the sandbox's cgroups go away with it.
            long oom = box.oomKills();
            capture.awaitEnd(500);
            oom = Math.max(oom, box.oomKills());
            box.kill();
            int rc;
            try {
                rc = box.process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                rc = -1;
            }
            box.awaitGone(1000);
            if (oom > oom0) {
                call.trip(ExecResult.Limit.MEMORY);
            }
            call.diedMessage = "the Python worker ended unexpectedly (exit status " + rc
                    + (rc > 128 ? ", signal " + (rc - 128) : "") + "); the next call starts a fresh worker";
            try {
                ctl.close();
            } catch (IOException e) {
                // already closed
            }
        }

        private ObjectNode decideExec(JsonNode f, List<Decision.Deny> blocked) {
            String exe = f.path("exe").asText("");
            int children = f.path("children").asInt(0);
            ObjectNode reply = JSON.createObjectNode();
            if (!"call".equals(f.path("phase").asText())) {
                // Outside a call: the worker's own preload (e.g. platform probing uname while
                // pandas imports) or a guest thread between calls. Refused, not audited: no call
                // owns it and the guest did not ask for it in this call.
                reply.put("allow", false);
                reply.put("errno", 13);
                reply.put("message", "Cordon: no process starts outside a call");
                return reply;
            }
            Decision d = ExecDecisions.decide(policy.subprocess(), exe);
            if (d instanceof Decision.Deny deny) {
                report(deny, blocked);
                reply.put("allow", false);
                reply.put("errno", 13);
                reply.put("message", deny.message());
                return reply;
            }
            int max = Math.max(1, policy.resources().maxProcesses());
            if (children >= max) {
                String name = ExecDecisions.commandName(exe);
                Decision.Deny deny = ExecDecisions.tooManyProcesses(max, name == null ? exe : name);
                report(deny, blocked);
                reply.put("allow", false);
                reply.put("errno", 11);
                reply.put("message", deny.message());
                return reply;
            }
            reply.put("allow", true);
            return reply;
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return b;
    }

    /** Stops the worker and, if the session owns it, releases the workspace (files are kept on the host). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (worker != null) {
            try {
                ObjectNode bye = JSON.createObjectNode();
                bye.put("op", "exit");
                worker.send(bye);
            } catch (IOException e) {
                // already gone
            }
            worker.kill();
            worker = null;
        }
        if (ownsWorkspace) {
            ws.close();
        }
    }

    @Override
    public String toString() {
        return "NativeSession[" + name + ", " + policy.engine().name().toLowerCase(Locale.ROOT) + "]";
    }
}
