package dev.cordon.packages;

import dev.cordon.audit.Audit;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.decision.InstallDecisions;
import dev.cordon.nativetier.EngineChoice;
import dev.cordon.nativetier.NativeConfig;
import dev.cordon.nativetier.PipService;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.PackagesPolicy;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * Cordon's installer: serves the {@code pip} commands guest code starts, in either tier, on the
 * host. No pip runs in the sandbox and guest code never talks to the index.
 *
 * <ol>
 *   <li>The command is parsed ({@link PipCommand}); anything that names another source
 *       ({@code --index-url}, {@code -e}, URLs, paths, VCS), asks for another target, or is not
 *       {@code install/list/freeze/show/--version} is refused before anything happens.</li>
 *   <li>{@link InstallDecisions} decides: {@code allow_install}, {@code index_url}, and every
 *       requested name against {@code approved_packages} (PEP 503-normalised). A refused name is
 *       never looked up on the index.</li>
 *   <li>The {@link Resolver} reads dependencies from core metadata and refuses the install as a
 *       whole if any is not approved, before fetching anything for it.</li>
 *   <li>Wheels only, from {@code index_url}'s origin only, hash-checked ({@link SimpleIndex},
 *       {@link WheelArchive}); pure wheels for the in-JVM tier, also {@code cp311}/{@code abi3}
 *       manylinux wheels for the native tier.</li>
 *   <li>The total unpacked size is checked against {@code filesystem.max_size_mb} before the first
 *       byte is written; files are then staged, verified against {@code RECORD} and moved into the
 *       session's site directory {@code <workspace_dir>/.cordon/site-packages}
 *       ({@link SiteDir}), through the workspace filesystem gate. Any failure leaves the workspace
 *       as it was.</li>
 * </ol>
 *
 * <p>The "process" prints what pip would (Collecting / Successfully installed / ERROR lines) and
 * exits 0 or 1. Every denial goes to the sink the caller passes (the call's {@code blocked} list and
 * the audit). Each install's time is kept for the call's result ({@link #drainNotices()}).
 * One install runs at a time per session, on an installer thread, bounded by
 * {@code subprocess.max_runtime_seconds}.
 */
public final class Installer implements PipService {

    private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "cordon-installer");
        t.setDaemon(true);
        return t;
    });
    /** Bound on requirement files read per command (nested {@code -r}). */
    private static final int MAX_REQUIREMENT_FILES = 16;

    private final Policy policy;
    private final PackagesPolicy.Python py;
    private final SiteDir site;
    private final LongSupplier usedBytes;
    private final Audit audit;
    private final boolean nativeTier;
    private final Duration timeout;
    private final List<String> notices = new ArrayList<>();
    private final Object installLock = new Object();

    /**
     * @param policy     the session's policy
     * @param workspace  the session's workspace filesystem gate (guest paths)
     * @param usedBytes  bytes counted against {@code max_size_mb} now (a native session should
     *                   recount first: its sandboxes write behind the gate)
     * @param audit      the session's audit, for the install log lines (may be null)
     */
    public Installer(Policy policy, FileSystem workspace, LongSupplier usedBytes, Audit audit) {
        this.policy = policy;
        this.py = policy.packages().python();
        this.site = new SiteDir(workspace, policy.filesystem().workspaceDir());
        this.usedBytes = usedBytes;
        this.audit = audit;
        this.nativeTier = EngineChoice.useNative(policy);
        this.timeout = Duration.ofSeconds(Math.max(5, policy.subprocess().maxRuntimeSeconds()));
    }

    /** The guest path of the session's site directory for {@code p}. */
    public static String siteDir(Policy p) {
        return SiteDir.guestSite(p.filesystem().workspaceDir());
    }

    @Override
    public String siteDirectory() {
        return site.site;
    }

    @Override
    public boolean handles(List<String> argv) {
        return PipCommand.recognise(argv) != null;
    }

    /**
     * The in-JVM tier's process gate calls this first: a {@link Process} that already ran, for a pip
     * command; null for anything else (the caller's gate decides it).
     *
     * @param inheritOut the current call's stdout (output the guest asked to inherit)
     * @param inheritErr the same for stderr
     */
    public Process start(ProcessHandler.ProcessCommand command, DenialSink sink, Supplier<OutputStream> inheritOut,
            Supplier<OutputStream> inheritErr) {
        List<String> argv = command.getCommand();
        if (!handles(argv)) {
            return null;
        }
        Result r = run(argv, command.getDirectory(), sink);
        refreshImportCaches();
        return InstallProcess.of(r, command, inheritOut, inheritErr);
    }

    /**
     * Python caches directory listings of {@code sys.path} entries ({@code FileFinder}) and
     * remembers entries that did not exist ({@code sys.path_importer_cache[p] = None}): after an
     * install the next {@code import} must look again. The gate is called on the guest's thread with
     * its context entered, so this runs there, as Python's own advice says
     * ({@code importlib.invalidate_caches()}).
     */
    private static void refreshImportCaches() {
        try {
            Context.getCurrent().eval("python", "__import__('importlib').invalidate_caches()");
        } catch (RuntimeException e) {
            // Not on a guest thread (a direct call): nothing to refresh.
        }
    }

    @Override
    public Result run(List<String> argv, String cwd, DenialSink sink) {
        List<String> args = PipCommand.recognise(argv);
        if (args == null) {
            return null;
        }
        DenialSink s = sink == null ? DenialSink.NONE : sink;
        PipCommand.Parsed p = PipCommand.parse(args, py);
        Output out = new Output(p.quiet());
        long t0 = System.nanoTime();
        int rc;
        try {
            rc = switch (p.action()) {
                case VERSION -> {
                    out.out("pip (Cordon's installer) for the " + (nativeTier ? "native CPython tier" : "in-JVM GraalPy tier")
                            + "; index: " + (py.indexUrl() == null ? "none (packages.python.index_url)" : redact(py.indexUrl())));
                    yield 0;
                }
                case HELP -> {
                    out.out(help());
                    yield 0;
                }
                case LIST, FREEZE -> list(p.action() == PipCommand.Action.FREEZE, out);
                case SHOW -> show(p.showNames(), out);
                case REFUSED -> refuse(p.refusals(), s, out);
                case INSTALL -> install(p, cwd == null ? policy.filesystem().workspaceDir() : cwd, s, out, t0);
            };
        } catch (RuntimeException e) {
            out.err("ERROR: Cordon's installer failed: " + e);
            rc = 1;
        }
        return new Result(rc, out.stdout.toString(), out.stderr.toString());
    }

    /** Install timings (and refusals) since the last call, for the call's result notices. */
    public List<String> drainNotices() {
        synchronized (notices) {
            List<String> out = List.copyOf(notices);
            notices.clear();
            return out;
        }
    }

    private void notice(String s) {
        synchronized (notices) {
            notices.add(s);
        }
        if (audit != null) {
            audit.info(LoggingPolicy.Level.INFO, s);
        }
    }

    private static int refuse(List<Decision.Deny> denials, DenialSink sink, Output out) {
        for (Decision.Deny d : denials) {
            sink.blocked(d);
            out.err("ERROR: " + d.message());
        }
        return 1;
    }

    // ---------------------------------------------------------------- install

    private int install(PipCommand.Parsed p0, String cwd, DenialSink sink, Output out, long t0) {
        String what = String.join(" ", p0.requirements().isEmpty() ? p0.requirementFiles().stream().map(f -> "-r " + f).toList()
                : p0.requirements());
        if (!p0.refusals().isEmpty()) {
            int rc = refuse(p0.refusals(), sink, out);
            timing(what, t0, "refused (" + p0.refusals().getFirst().rule() + ")");
            return rc;
        }
        Decision may = InstallDecisions.mayInstall(py, what);
        if (may instanceof Decision.Deny d) {
            int rc = refuse(List.of(d), sink, out);
            timing(what, t0, "refused (" + d.rule() + ")");
            return rc;
        }
        if (!policy.filesystem().writable()) {
            int rc = refuse(List.of(InstallDecisions.readOnlyWorkspace(what)), sink, out);
            timing(what, t0, "refused (filesystem.writable)");
            return rc;
        }
        PipCommand.Parsed p;
        try {
            p = withRequirementFiles(p0, cwd);
        } catch (IOException e) {
            out.err("ERROR: Could not open requirements file: " + e.getMessage());
            timing(what, t0, "failed");
            return 1;
        }
        if (!p.refusals().isEmpty()) {
            int rc = refuse(p.refusals(), sink, out);
            timing(what, t0, "refused (" + p.refusals().getFirst().rule() + ")");
            return rc;
        }
        List<Pep508.Requirement> reqs = new ArrayList<>();
        for (String r : p.requirements()) {
            try {
                reqs.add(Pep508.parse(r));
            } catch (IllegalArgumentException e) {
                out.err("ERROR: Invalid requirement: '" + r + "': " + e.getMessage());
                timing(what, t0, "failed");
                return 1;
            }
        }
        Set<String> names = new LinkedHashSet<>();
        for (Pep508.Requirement r : reqs) {
            names.add(r.normalized());
        }
        Decision named = InstallDecisions.decideRequested(py, names);
        if (named instanceof Decision.Deny d) {
            int rc = refuse(List.of(d), sink, out);
            timing(what, t0, "refused (" + d.rule() + ")");
            return rc;
        }
        synchronized (installLock) {
            Future<Integer> f = THREADS.submit(() -> doInstall(p, reqs, what, sink, out, t0));
            try {
                return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                out.err("ERROR: the install took longer than " + timeout.toSeconds()
                        + " s (subprocess.max_runtime_seconds) and was stopped; nothing was installed");
                awaitQuietly(f);
                timing(what, t0, "stopped after " + timeout.toSeconds() + " s");
                return 1;
            } catch (InterruptedException e) {
                // The call was stopped (a limit): undo the install, then let the interrupt through.
                f.cancel(true);
                awaitQuietly(f);
                Thread.currentThread().interrupt();
                out.err("ERROR: interrupted; nothing was installed");
                timing(what, t0, "interrupted");
                return 1;
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                out.err("ERROR: " + (c instanceof IOException || c instanceof UncheckedIOException ? c.getMessage() : String.valueOf(c)));
                timing(what, t0, "failed");
                return 1;
            }
        }
    }

    private static void awaitQuietly(Future<?> f) {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // cancelled: the rollback runs in the task's finally
        }
    }

    private void timing(String what, long t0, String outcome) {
        long ms = (System.nanoTime() - t0) / 1_000_000;
        notice("pip install " + what + ": " + outcome + " in " + ms + " ms (Cordon's installer)");
    }

    private PipCommand.Parsed withRequirementFiles(PipCommand.Parsed p, String cwd) throws IOException {
        if (p.requirementFiles().isEmpty()) {
            return p;
        }
        List<String> reqs = new ArrayList<>();
        List<Decision.Deny> refusals = new ArrayList<>();
        Map<String, Set<String>> hashes = new HashMap<>();
        List<String[]> todo = new ArrayList<>();
        for (String f : p.requirementFiles()) {
            todo.add(new String[] {f, cwd});
        }
        int read = 0;
        while (!todo.isEmpty()) {
            String[] t = todo.removeFirst();
            if (++read > MAX_REQUIREMENT_FILES) {
                throw new IOException("more than " + MAX_REQUIREMENT_FILES + " requirement files");
            }
            String guest = t[0].startsWith("/") ? t[0] : t[1] + "/" + t[0];
            guest = java.nio.file.Path.of(guest).normalize().toString();
            String text;
            try {
                text = new String(site.read(guest, 1 << 20), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IOException(t[0] + " (" + e.getMessage() + ")");
            }
            List<String> nested = new ArrayList<>();
            reqs.addAll(PipCommand.parseRequirementsFile(text, py, nested, refusals, hashes));
            String dir = guest.substring(0, Math.max(1, guest.lastIndexOf('/')));
            for (String n : nested) {
                todo.add(new String[] {n, dir});
            }
        }
        return PipCommand.withFiles(p, reqs, refusals, hashes);
    }

    private TargetEnv env() throws IOException {
        if (nativeTier) {
            return TargetEnv.nativeCpython(NativeConfig.fromSystemProperties().python());
        }
        return TargetEnv.graalpy();
    }

    /** What counts as already installed on the host: the tier's view of the Debian packages. */
    private java.util.function.Function<String, DebianPackages.Dist> system(TargetEnv env) {
        DebianPackages deb = DebianPackages.host();
        if (nativeTier) {
            return deb::find; // the native sandbox sees all of /usr
        }
        Map<String, String> missing = new HashMap<>();
        Map<String, DebianPackages.Dist> curated = new HashMap<>();
        for (DebianPackages.Dist d : deb.closure(py.preinstalled(), env, missing)) {
            curated.put(d.name(), d);
        }
        return curated::get; // the in-JVM tier sees only the curated copy
    }

    private int doInstall(PipCommand.Parsed p, List<Pep508.Requirement> reqs, String what, DenialSink sink, Output out,
            long t0) throws IOException, InterruptedException {
        TargetEnv env = env();
        Path tmp = Files.createTempDirectory("cordon-pip-");
        List<WheelArchive> open = new ArrayList<>();
        try {
            SimpleIndex index = new SimpleIndex(py.indexUrl(), timeout);
            out.out("Looking in indexes: " + redact(py.indexUrl()));
            Map<String, SiteDir.Installed> installed = site.installed();
            long max = policy.filesystem().maxSizeBytes();
            long free = Math.max(0, max - usedBytes.getAsLong());
            Resolver resolver = new Resolver(index, env, py, installed, system(env), tmp, free + (1 << 20), out::out);
            Resolver.Result rr = resolver.resolve(reqs, p.upgrade(), p.forceReinstall(), p.pre(), p.noDeps(), what);
            if (rr.denied() != null) {
                int rc = refuse(List.of(rr.denied()), sink, out);
                timing(what, t0, "refused (" + rr.denied().rule() + ")");
                return rc;
            }
            if (rr.error() != null) {
                out.err("ERROR: " + rr.error());
                timing(what, t0, "failed");
                return 1;
            }
            List<Resolver.Pick> picks = rr.picks();
            if (picks.isEmpty()) {
                timing(what, t0, "already satisfied");
                return 0;
            }
            if (p.dryRun()) {
                out.out("Would install " + String.join(" ", picks.stream().map(k -> k.metadata.name() + "-" + k.version).toList()));
                timing(what, t0, "dry run");
                return 0;
            }
            long need = 0;
            for (Resolver.Pick k : picks) {
                if (k.file == null) {
                    k.file = Files.createTempFile(tmp, "wheel-", ".whl");
                    out.out("Downloading " + k.link.filename());
                    k.sha256 = index.download(k.link, k.file, free + (1 << 20));
                }
                Set<String> allowed = p.hashes().get(k.name);
                if (allowed != null && !allowed.contains(k.sha256)) {
                    out.err("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE: " + k.link.filename()
                            + " has sha256 " + k.sha256);
                    timing(what, t0, "failed (hash)");
                    return 1;
                }
                WheelArchive wa = WheelArchive.open(k.file, k.wheel);
                open.add(wa);
                need += wa.totalBytes + 4096; // + the RECORD and INSTALLER Cordon writes
            }
            long used = usedBytes.getAsLong();
            if (used + need > max) {
                Decision.Deny d = InstallDecisions.quota(what, need, used, policy.filesystem().maxSizeMb());
                int rc = refuse(List.of(d), sink, out);
                timing(what, t0, "refused (filesystem.max_size_mb)");
                return rc;
            }
            List<String> done = commit(picks, open, out);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            out.out("Successfully installed " + String.join(" ", done));
            notice("pip install " + what + ": installed " + String.join(", ", done) + " in " + ms
                    + " ms (Cordon's installer, from " + redact(py.indexUrl()) + ")");
            if (audit != null) {
                synchronized (index.fetched) {
                    audit.info(LoggingPolicy.Level.DEBUG, "pip install " + what + " fetched " + index.fetched);
                }
            }
            return 0;
        } finally {
            for (WheelArchive wa : open) {
                try {
                    wa.close();
                } catch (IOException e) {
                    // temp file, deleted below
                }
            }
            DebianPackages.deleteTree(tmp);
        }
    }

    /** Stages every wheel, then moves the files into place; all or nothing. */
    private List<String> commit(List<Resolver.Pick> picks, List<WheelArchive> archives, Output out)
            throws IOException, InterruptedException {
        SiteDir.Transaction tx = site.begin();
        boolean ok = false;
        try {
            List<List<String>> placeLists = new ArrayList<>();
            for (int i = 0; i < picks.size(); i++) {
                WheelArchive wa = archives.get(i);
                List<String> files = new ArrayList<>();
                for (WheelArchive.Member m : wa.members) {
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                    String got;
                    try (InputStream in = wa.open(m)) {
                        got = tx.stageFile(m.dest(), in);
                    }
                    if (!got.equals(m.sha256())) {
                        throw new IOException(wa.name.fileName() + ": " + m.entry() + " does not match its RECORD hash");
                    }
                    files.add(m.dest());
                }
                String record = wa.distInfo + "/RECORD";
                tx.stageText(wa.distInfo + "/INSTALLER", "cordon\n");
                List<WheelArchive.Member> written = new ArrayList<>(wa.members);
                written.add(new WheelArchive.Member("", wa.distInfo + "/INSTALLER", 7,
                        SimpleIndex.sha256("cordon\n".getBytes(StandardCharsets.UTF_8))));
                tx.stageText(record, wa.installedRecord(written, record));
                files.add(wa.distInfo + "/INSTALLER");
                files.add(record);
                placeLists.add(files);
            }
            List<String> oldDirs = new ArrayList<>();
            for (int i = 0; i < picks.size(); i++) {
                Resolver.Pick k = picks.get(i);
                if (k.replaces != null) {
                    out.out("  Attempting uninstall: " + k.replaces.name() + "\n    Found existing installation: "
                            + k.replaces.name() + " " + k.replaces.version());
                    for (String f : k.replaces.files()) {
                        if (safeRel(f)) {
                            tx.moveAside(f);
                            if (f.indexOf('/') > 0) {
                                oldDirs.add(f.substring(0, f.lastIndexOf('/')));
                            }
                        }
                    }
                }
            }
            out.out("Installing collected packages: " + String.join(", ", picks.stream().map(k -> k.metadata.name()).toList()));
            for (List<String> files : placeLists) {
                for (String f : files) {
                    tx.place(f);
                }
            }
            tx.pruneEmpty(oldDirs);
            ok = true;
            List<String> done = new ArrayList<>();
            for (Resolver.Pick k : picks) {
                done.add(k.metadata.name() + "-" + k.version);
            }
            return done;
        } finally {
            if (ok) {
                tx.finish();
            } else {
                tx.rollback();
            }
        }
    }

    /** A RECORD path of an installed copy that lies inside the site directory (never {@code ../bin/x}). */
    private static boolean safeRel(String f) {
        if (f.isEmpty() || f.startsWith("/") || f.indexOf('\\') >= 0 || f.indexOf('\0') >= 0) {
            return false;
        }
        for (String seg : f.split("/")) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- list / show

    private int list(boolean freeze, Output out) {
        Map<String, String> all = new java.util.TreeMap<>();
        for (SiteDir.Installed i : site.installed().values()) {
            all.put(i.metadata().name(), i.version().toString());
        }
        try {
            java.util.function.Function<String, DebianPackages.Dist> sys = system(env());
            for (String n : py.preinstalled()) {
                DebianPackages.Dist d = sys.apply(n);
                if (d != null) {
                    all.putIfAbsent(d.name(), d.version());
                }
            }
        } catch (IOException e) {
            // list what the site directory holds
        }
        if (freeze) {
            all.forEach((n, v) -> out.out(n + "==" + v));
        } else {
            out.out("Package    Version\n---------- -------");
            all.forEach((n, v) -> out.out(n + " " + v));
        }
        return 0;
    }

    private int show(List<String> names, Output out) {
        Map<String, SiteDir.Installed> inst = site.installed();
        int rc = 0;
        for (String n : names) {
            SiteDir.Installed i = inst.get(InstallDecisions.normalize(n));
            if (i == null) {
                out.err("WARNING: Package(s) not found: " + n);
                rc = 1;
                continue;
            }
            out.out("Name: " + i.metadata().name() + "\nVersion: " + i.version() + "\nLocation: " + site.site
                    + "\nRequires: " + String.join(", ", i.metadata().requiresDist().stream()
                    .map(r -> r.split("[;\\s\\[(<>=!~]")[0]).distinct().toList()) + "\n---");
        }
        return rc;
    }

    private String help() {
        return "Usage: pip install [options] <requirement> ... | pip install -r <file>\n"
                + "Cordon serves pip itself: packages named in execution.sandbox.packages.python.approved_packages are\n"
                + "installed as wheels from " + (py.indexUrl() == null ? "packages.python.index_url" : redact(py.indexUrl()))
                + " into " + site.site + ",\nwhich is on sys.path. Also: pip list, pip freeze, pip show NAME, pip --version.";
    }

    /** The index URL without credentials (they may be in the policy, never in guest output). */
    static String redact(URI u) {
        return InstallDecisions.redact(u);
    }

    /** pip-style output: informational lines (silenced by -q) to stdout, errors to stderr. */
    private static final class Output {
        final StringBuilder stdout = new StringBuilder();
        final StringBuilder stderr = new StringBuilder();
        final int quiet;

        Output(int quiet) {
            this.quiet = quiet;
        }

        synchronized void out(String line) {
            if (quiet == 0) {
                stdout.append(line).append('\n');
            }
        }

        synchronized void err(String line) {
            if (quiet < 3) {
                stderr.append(line).append('\n');
            }
        }
    }
}
