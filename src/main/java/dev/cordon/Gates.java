package dev.cordon;

import dev.cordon.agent.GuestErrors;
import dev.cordon.audit.Audit;
import dev.cordon.decision.Decision;
import dev.cordon.fs.WorkspaceFileSystem;
import dev.cordon.fs.WorkspaceLayout;
import dev.cordon.graalpy.ContextShape;
import dev.cordon.graalpy.SessionGates;
import dev.cordon.nativetier.EngineChoice;
import dev.cordon.nativetier.NativeProcessHandler;
import dev.cordon.nativetier.NativeSession;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.nativetier.NativeTierUnavailableException;
import dev.cordon.nativetier.NativeWorkspace;
import dev.cordon.nativetier.EgressGate;
import dev.cordon.decision.NetworkDecisions;
import dev.cordon.net.EgressLog;
import dev.cordon.net.NetworkGate;
import dev.cordon.net.Resolver;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.packages.Installer;
import dev.cordon.packages.PackageCheck;
import dev.cordon.packages.PackageSites;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * Builds each session's enforcement points from the policy: the one place where the gates are
 * wired to a session. The gates decide; this class only assembles them.
 */
final class Gates {

    private Gates() { }

    /**
     * What the pool's contexts must have in common for this policy. The Python path holds the
     * session's site directory (installs) and the curated copy of the preinstalled packages
     * ({@link PackageSites}).
     */
    static ContextShape shape(Policy p) {
        // Host sockets stay on whenever the network gate's hooks are active, even for a deny-all
        // policy: the gate then refuses each connection with a PermissionError, and asyncio's
        // socketpair emulation keeps working. Without the hooks they are off (fail closed).
        return new ContextShape(PackageSites.graalpyPythonPath(p), NetworkGate.available(), environment(p));
    }

    /** The guest's whole environment: nothing of the host's leaks in. */
    static Map<String, String> environment(Policy p) {
        String ws = p.filesystem().workspaceDir();
        Map<String, String> env = new java.util.HashMap<>(Map.of("HOME", ws, "PWD", ws, "TMPDIR", "/tmp", "LANG",
                "C.UTF-8", "PATH", "/usr/local/bin:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE", "1"));
        env.putAll(PackageSites.graalpyEnvironment(p)); // e.g. PYTHONTZPATH when a package needs tz data
        return Map.copyOf(env);
    }

    /**
     * One session's gates for one policy. Closing it releases what the gates hold (sandboxes, the
     * native workspace's mount); the session's files stay.
     *
     * @param nativeSession  the native engine when the policy runs Python there, else null
     * @param nativeFailure  why the native tier could not start when the policy needs it, else null
     * @param processesRun   how many processes the process gate started (the filesystem gate's
     *                       byte count must be refreshed after they ran)
     * @param installer      serves guest code's pip commands in both tiers (packages)
     * @param packagesFailure why {@code packages.python.preinstalled} cannot be provided, else null
     *                       (then no call runs: fail closed, like a missing native tier)
     */
    record Bound(Policy policy, WorkspaceFileSystem fileSystem, Audit audit, SessionGates gates, NetworkGate network,
            NativeWorkspace nativeWorkspace, NativeProcessHandler nativeProcesses, NativeSession nativeSession,
            String nativeFailure, AtomicInteger processesRun, Installer installer, String packagesFailure)
            implements AutoCloseable {

        /** Closes in dependency order: the engine, the process gate, the filesystem gate, then the workspace mount. */
        @Override
        public void close() {
            RuntimeException first = null;
            for (AutoCloseable c : new AutoCloseable[] {nativeSession, nativeProcesses, network, fileSystem, nativeWorkspace}) {
                if (c == null) {
                    continue;
                }
                try {
                    c.close();
                } catch (Exception e) {
                    if (first == null) {
                        first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    /**
     * @param out where a child process's inherited stdout goes (the current call's stdout)
     * @param err the same for stderr
     */
    static Bound forSession(String name, Policy p, Workspace ws, Path hostTmp, Path auditJsonlOverride,
            Supplier<OutputStream> out, Supplier<OutputStream> err) {
        Audit audit = audit(name, p, ws, auditJsonlOverride);
        if (p.network().mode() != NetworkPolicy.Mode.DENY && !NetworkGate.available()) {
            // Fail closed: without the hooks no connection could be decided.
            throw new IllegalStateException("this policy allows network access, but Cordon's network gate is not "
                    + "active in this JVM: " + NetworkGate.unavailableReason());
        }
        boolean nativeEngine = EngineChoice.useNative(p);
        String egressGuest = p.egressLogFile();
        Path egressHost = egressGuest == null ? null : hostPath(ws, egressGuest);
        NativeWorkspace nws = null;
        NativeProcessHandler nph = null;
        NativeSession ns = null;
        String failure = null;
        WorkspaceFileSystem fs = null;
        NetworkGate net = null;
        // Cheap (presence on the host, cached per JVM); cordon policy check runs the full import check.
        PackageCheck.Report packages = PackageCheck.quick(p);
        String packagesFailure = packages.ok() ? null : packages.failure();
        Installer[] installer = new Installer[1];
        try {
            if (nativeEngine || p.subprocess().allow()) {
                // The native workspace may mount a size-bounded image over the host directory: it
                // must exist before the filesystem gate opens the directory, or the two tiers would
                // see different trees.
                try {
                    nws = NativeWorkspace.open(NativeTier.get(), p.filesystem(), ws.host());
                    if (p.network().mode() != NetworkPolicy.Mode.DENY) {
                        nws.startEgress(egressGate(p), EgressGate.Resolver.SYSTEM, audit,
                                egressHost == null ? null : proxyLog(egressHost, name, ws.host()));
                    }
                    nph = new NativeProcessHandler(p, nws, audit, out, err);
                    if (nativeEngine && packagesFailure == null) {
                        // The worker hands guest pip commands to the installer, made below (before any call).
                        ns = NativeSession.create(name, p, nws, audit, new dev.cordon.nativetier.PipService() {
                            public String siteDirectory() {
                                return Installer.siteDir(p);
                            }

                            public boolean handles(List<String> argv) {
                                return installer[0] != null && installer[0].handles(argv);
                            }

                            public Result run(List<String> argv, String cwd, dev.cordon.decision.DenialSink sink) {
                                return installer[0] == null ? null : installer[0].run(argv, cwd, sink);
                            }
                        });
                    }
                } catch (NativeTierUnavailableException e) {
                    failure = e.getMessage();
                }
            }
            if (NetworkGate.available()) {
                net = new NetworkGate(p, audit, Resolver.SYSTEM,
                        egressHost == null ? EgressLog.NONE : EgressLog.jsonl(egressHost, name, ws.host()));
            }
            List<String> protectedFiles = p.logFiles();
            fs = WorkspaceFileSystem.create(new WorkspaceLayout(p.filesystem(), ws.host(), hostTmp, protectedFiles,
                    PackageSites.readOnlyDirs(p)), audit);
            WorkspaceFileSystem gate = fs;
            // Native sandboxes write behind the gate: recount before an install checks the quota.
            installer[0] = new Installer(p, fs, nativeEngine ? () -> {
                gate.rescan();
                return gate.usedBytes();
            } : fs::usedBytes, audit);
            AtomicInteger started = new AtomicInteger();
            ProcessHandler processes = pipFirst(installer[0], audit, out, err, processGate(p, audit, nph, failure, started));
            boolean pythonPath = !shape(p).pythonPath().isEmpty();
            NetworkGate network = net;
            SessionGates gates = new SessionGates(fs, processes,
                    c -> {
                        if (pythonPath) {
                            refreshImportCaches(c);
                        }
                        if (network != null) {
                            network.attach(c);
                        }
                    },
                    c -> {
                        if (network != null) {
                            network.detach(c);
                        }
                    },
                    ws::outputs, fs::resetForFreshCall, fs::usedBytes, fs::changes);
            return new Bound(p, gate, audit, gates, net, nws, nph, ns, failure, started, installer[0], packagesFailure);
        } catch (IOException e) {
            closeQuietly(ns, nph, net, fs, nws);
            throw new UncheckedIOException("cannot prepare session " + name + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ns, nph, net, fs, nws);
            throw e;
        }
    }

    /**
     * pip commands (pip, pip3, python -m pip, sh -c "pip ...") are served by Cordon's installer
     * before the process gate sees them: no pip runs in a sandbox, and approved_packages/index_url
     * decide, not allowed_commands. Everything else goes to {@code next}.
     */
    private static ProcessHandler pipFirst(Installer installer, Audit audit, Supplier<OutputStream> out,
            Supplier<OutputStream> err, ProcessHandler next) {
        return command -> {
            Process p = installer.start(command, audit, out, err);
            return p != null ? p : next.start(command);
        };
    }

    /**
     * A pooled context was warmed before its session's filesystem was bound, so Python remembered
     * the Python-path directories as missing ({@code sys.path_importer_cache[dir] = None}) and would
     * never look there. Forget that when the context is bound (measured: without it the
     * preinstalled packages do not import).
     */
    private static void refreshImportCaches(org.graalvm.polyglot.Context c) {
        c.eval("python", "__import__('importlib').invalidate_caches()");
    }

    /**
     * The in-JVM tier's process gate: the native tier's handler when it runs here; otherwise every
     * start is refused (never run unsandboxed), naming the rule or what is missing.
     */
    private static ProcessHandler processGate(Policy p, Audit audit, NativeProcessHandler nph, String failure,
            AtomicInteger started) {
        if (nph != null) {
            return command -> {
                started.incrementAndGet();
                return nph.start(command);
            };
        }
        // GraalPy tries each PATH entry in turn (the handler sees /usr/bin/x, then /bin/x): one
        // attempt, one audit event.
        ThreadLocal<String> last = new ThreadLocal<>();
        ThreadLocal<Long> lastAt = new ThreadLocal<>();
        return command -> {
            String cmd = command.getCommand().isEmpty() ? "?" : Path.of(command.getCommand().get(0)).getFileName().toString();
            Decision.Deny d = p.subprocess().allow()
                    ? new Decision.Deny(Decision.Category.SUBPROCESS, "exec", cmd, "subprocess.allow",
                            "the native tier that runs subprocesses is not available on this host: " + failure,
                            "install what is missing (see the reason); Cordon never runs a process unsandboxed")
                    : new Decision.Deny(Decision.Category.SUBPROCESS, "exec", cmd, "subprocess.allow",
                            "this policy allows no subprocesses",
                            "execution.sandbox.subprocess: {allow: true, allowed_commands: [\"" + cmd + "\"]}");
            String key = cmd + " " + command.getCommand().subList(Math.min(1, command.getCommand().size()),
                    command.getCommand().size());
            long now = System.nanoTime();
            Long at = lastAt.get();
            if (!(key.equals(last.get()) && at != null && now - at < 1_000_000_000L)) {
                audit.blocked(d);
            }
            last.set(key);
            lastAt.set(now);
            throw GuestErrors.processDenied(GuestErrors.EACCES, d.message());
        };
    }

    /** The native tier's proxy asks the same pure decisions as the in-JVM gate. */
    private static EgressGate egressGate(Policy p) {
        NetworkPolicy net = NetworkDecisions.canonical(p.network());
        return new EgressGate() {
            @Override
            public Decision decideName(String host, int port) {
                return NetworkDecisions.resolve(net, NetworkDecisions.normaliseName(host), host);
            }

            @Override
            public Decision decide(String host, java.net.InetAddress address, int port) {
                String name = host == null ? null : NetworkDecisions.normaliseName(host);
                return NetworkDecisions.connect(net, "connect", NetworkDecisions.normalise(address), port,
                        name == null ? List.of() : List.of(name), name);
            }
        };
    }

    /** Proxy connections in the same egress log format as the in-JVM gate's. */
    private static java.util.function.Consumer<dev.cordon.nativetier.EgressProxy.Connection> proxyLog(Path file,
            String session, Path workspace) {
        EgressLog log = EgressLog.jsonl(file, session, workspace);
        return c -> log.record(new EgressLog.Entry(java.time.Instant.now().minusMillis(c.millis()), c.millis(), "tcp",
                c.host(), c.address() == null ? null : c.address().getHostAddress(), c.port(), "proxy", c.bytesOut(),
                c.bytesIn(), null, false, null, null, null, true));
    }

    private static void closeQuietly(AutoCloseable... all) {
        for (AutoCloseable c : all) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    // already failing; the first error is the one reported
                }
            }
        }
    }

    /** The session's audit: {@code log_file} and {@code audit_file} are guest paths when inside the workspace. */
    static Audit audit(String session, Policy p, Workspace ws, Path auditJsonlOverride) {
        Path jsonl = auditJsonlOverride != null ? auditJsonlOverride : hostPath(ws, p.logging().auditFile());
        return new Audit(session, p.logging(), hostPath(ws, p.logging().logFile()), jsonl, ws.host());
    }

    private static Path hostPath(Workspace ws, String file) {
        if (file == null) {
            return null;
        }
        Path inside = ws.toHost(file);
        return inside != null ? inside : Path.of(file);
    }
}
