package dev.cordon.policy;

import dev.cordon.policy.YamlTree.Entry;
import dev.cordon.policy.YamlTree.Kind;
import dev.cordon.policy.YamlTree.MapNode;
import dev.cordon.policy.YamlTree.Node;
import dev.cordon.policy.YamlTree.Scalar;
import dev.cordon.policy.YamlTree.SeqNode;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Turns a {@link YamlTree} into a {@link Policy}, checking every key and value. One instance per
 * parse (it collects errors); a pure function of the text.
 *
 * <p>Every value error is collected with its position and YAML path, and the walk goes on with the
 * default in place of the bad value, so one run reports all of them (bounded by
 * {@link PolicyException#MAX_ERRORS}).
 */
final class PolicyParser {

    // Bounds. Each says why; the reference (docs/policy-reference.md) lists them.
    /** 1 TiB: beyond any disk a session gets; keeps byte arithmetic far from overflow. */
    static final long MAX_SIZE_MB = 1L << 20;
    /** 1 TiB of memory: larger is a typo. */
    static final int MAX_MEMORY_MB = 1 << 20;
    /** One day per call or per process: an agent's tool call is not a batch job. */
    static final int MAX_SECONDS = 86_400;
    /** Output is held by the host until the call ends: 1 GiB at most. */
    static final int MAX_OUTPUT_MB = 1024;
    static final int MAX_PROCESSES = 4096;
    /** Bound on list lengths (allowlist, packages, commands): a longer list is generated garbage. */
    static final int MAX_LIST = 1000;
    static final int DEFAULT_WALL_SECONDS = 60;

    private static final Pattern DECIMAL = Pattern.compile("-?(0|[1-9][0-9]*)");
    /** PEP 508 names (https://packaging.python.org/en/latest/specifications/name-normalization/). */
    private static final Pattern PACKAGE = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?");
    /** A bare command name; Cordon resolves it, so a path would only be a way around the list. */
    private static final Pattern COMMAND = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}");

    /** Where each key of the schema may appear: used to say "belongs under ..." for misplaced keys. */
    private static final Map<String, List<String>> KEY_HOMES = new TreeMap<>();

    static {
        home("", "execution");
        home("execution", "engine", "isolation", "sandbox");
        home("execution.sandbox", "network", "packages", "filesystem", "subprocess", "resources");
        home("execution or execution.sandbox", "logging");
        home("execution.sandbox.network", "policy", "allowlist", "allow_listen", "logging");
        home("execution.sandbox.network.allowlist[]", "domain", "cidr", "ports");
        home("execution.sandbox.network.logging", "egress", "log_bodies");
        home("execution.sandbox.packages", "python");
        home("execution.sandbox.packages.python", "preinstalled", "allow_install", "approved_packages", "index_url");
        home("execution.sandbox.filesystem", "workspace_dir", "writable", "max_size_mb", "persist_across_calls",
                "upload_dir", "output_dir");
        home("execution.sandbox.subprocess", "allow", "allowed_commands", "blocked_commands", "max_runtime_seconds");
        home("execution.sandbox.resources", "max_memory_mb", "max_cpu_seconds", "max_output_size_mb",
                "max_processes", "max_wall_seconds");
        home("execution.logging", "level", "log_blocked_operations", "log_file", "audit_file", "egress_file");
        home("execution.sandbox.logging", "level", "log_blocked_operations", "log_file", "audit_file", "egress_file");
    }

    private static void home(String parent, String... keys) {
        for (String k : keys) {
            KEY_HOMES.computeIfAbsent(k, x -> new ArrayList<>()).add(parent.isEmpty() ? "the top level" : parent);
        }
    }

    private final String source;
    /** Errors found so far; cheap records (an exception per error would fill a stack trace each). */
    private final List<Problem> errors = new ArrayList<>();

    private record Problem(int line, int column, String path, String problem) { }

    PolicyParser(String source) {
        this.source = source;
    }

    /** The whole policy, or a {@link PolicyException} listing every error found. */
    Policy parse(String text) throws PolicyException {
        Node root = YamlTree.read(text, source);
        Policy p = policy(root);
        if (!errors.isEmpty()) {
            List<Problem> sorted = new ArrayList<>(errors);
            sorted.sort(Comparator.comparingInt(Problem::line).thenComparingInt(Problem::column));
            int more = Math.max(0, sorted.size() - PolicyException.MAX_ERRORS);
            List<PolicyException> shown = sorted.subList(0, Math.min(sorted.size(), PolicyException.MAX_ERRORS))
                    .stream().map(x -> new PolicyException(source, x.line(), x.column(), x.path(), x.problem())).toList();
            if (shown.size() == 1) {
                throw shown.getFirst();
            }
            throw new PolicyException(shown, more);
        }
        return p;
    }

    // ---------------------------------------------------------------- sections

    private Policy policy(Node root) {
        MapNode top = map(root, "", "the top level");
        if (top == null) {
            return Policy.DEFAULT;
        }
        keys(top, "", "execution");
        MapNode exec = section(top, "execution", "");
        if (exec == null) {
            return Policy.DEFAULT;
        }
        keys(exec, "execution", "engine", "isolation", "sandbox", "logging");
        Policy.EngineKind engine = choice(exec, "engine", "execution", Policy.EngineKind.AUTO,
                Map.of("graalpy", Policy.EngineKind.GRAALPY, "native", Policy.EngineKind.NATIVE,
                        "auto", Policy.EngineKind.AUTO), "graalpy, native, auto");
        Policy.Isolation isolation = choice(exec, "isolation", "execution", Policy.Isolation.IN_PROCESS,
                Map.of("in-process", Policy.Isolation.IN_PROCESS, "worker", Policy.Isolation.WORKER),
                "in-process, worker");
        MapNode sandbox = section(exec, "sandbox", "execution");
        String sp = "execution.sandbox";
        if (sandbox != null) {
            keys(sandbox, sp, "network", "packages", "filesystem", "subprocess", "resources", "logging");
        }
        NetworkPolicy network = NetworkPolicy.DENY_ALL;
        PackagesPolicy packages = PackagesPolicy.NONE;
        FilesystemPolicy fs = FilesystemPolicy.DEFAULT;
        SubprocessPolicy subprocess = SubprocessPolicy.DENY_ALL;
        ResourcesPolicy resources = ResourcesPolicy.DEFAULT;
        boolean[] netLog = {false, false};
        if (sandbox != null) {
            MapNode n = section(sandbox, "network", sp);
            if (n != null) {
                network = network(n, sp + ".network", netLog);
            }
            MapNode pk = section(sandbox, "packages", sp);
            if (pk != null) {
                packages = packages(pk, sp + ".packages");
            }
            MapNode f = section(sandbox, "filesystem", sp);
            if (f != null) {
                fs = filesystem(f, sp + ".filesystem");
            }
            MapNode s = section(sandbox, "subprocess", sp);
            if (s != null) {
                subprocess = subprocess(s, sp + ".subprocess");
            }
            MapNode r = section(sandbox, "resources", sp);
            if (r != null) {
                resources = resources(r, sp + ".resources");
            }
        }
        // logging: under execution or execution.sandbox (the guide lost its indentation), never both.
        Entry atExec = exec.entries().get("logging");
        Entry atSandbox = sandbox == null ? null : sandbox.entries().get("logging");
        LoggingPolicy logging = LoggingPolicy.DEFAULT;
        if (atExec != null && atSandbox != null) {
            Entry later = atExec.line() > atSandbox.line() ? atExec : atSandbox;
            Entry earlier = later == atExec ? atSandbox : atExec;
            String laterPath = later == atExec ? "execution.logging" : "execution.sandbox.logging";
            String earlierPath = later == atExec ? "execution.sandbox.logging" : "execution.logging";
            error(later.line(), later.column(), laterPath, "logging is also given as " + earlierPath + " (line "
                    + earlier.line() + "); keep one of the two sections");
        } else if (atExec != null || atSandbox != null) {
            String path = atExec != null ? "execution.logging" : "execution.sandbox.logging";
            MapNode l = map((atExec != null ? atExec : atSandbox).value(), path, "logging");
            if (l != null) {
                logging = logging(l, path, fs);
            }
        }
        logging = new LoggingPolicy(logging.level(), logging.logBlockedOperations(), logging.logFile(),
                netLog[0], netLog[1], logging.auditFile(), logging.egressFile());
        return new Policy(null, engine, isolation, network, packages, fs, subprocess, resources, logging);
    }

    private NetworkPolicy network(MapNode m, String path, boolean[] netLog) {
        keys(m, path, "policy", "allowlist", "allow_listen", "logging");
        List<NetworkPolicy.AllowEntry> allow = new ArrayList<>();
        SeqNode list = list(m, "allowlist", path);
        if (list != null) {
            for (int i = 0; i < list.items().size(); i++) {
                NetworkPolicy.AllowEntry e = allowEntry(list.items().get(i), path + ".allowlist[" + i + "]");
                if (e != null) {
                    allow.add(e);
                }
            }
        }
        NetworkPolicy.Mode mode;
        if (m.entries().containsKey("policy")) {
            mode = choice(m, "policy", path, NetworkPolicy.Mode.DENY,
                    Map.of("deny", NetworkPolicy.Mode.DENY, "restricted", NetworkPolicy.Mode.RESTRICTED,
                            "permissive", NetworkPolicy.Mode.PERMISSIVE), "deny, restricted, permissive");
        } else {
            mode = NetworkPolicy.Mode.DENY;
            if (list != null && !list.items().isEmpty()) {
                // An allowlist without a mode is ambiguous; a security file should say what it means.
                error(m, path, "an allowlist is given but no policy; add policy: restricted"
                        + " (only the allowlist may be reached)");
            }
        }
        boolean listen = bool(m, "allow_listen", path, false);
        MapNode log = section(m, "logging", path);
        if (log != null) {
            String lp = path + ".logging";
            keys(log, lp, "egress", "log_bodies");
            netLog[0] = bool(log, "egress", lp, false);
            netLog[1] = bool(log, "log_bodies", lp, false);
        }
        return new NetworkPolicy(mode, allow, listen);
    }

    private NetworkPolicy.AllowEntry allowEntry(Node n, String path) {
        if (!(n instanceof MapNode m)) {
            error(n, path, "an allowlist entry is a mapping such as {domain: \"api.example.com\", ports: [443]}"
                    + " or {cidr: \"10.0.0.0/8\", ports: [5432]}, not " + n.describe());
            return null;
        }
        keys(m, path, "domain", "cidr", "ports");
        boolean hasDomain = m.entries().containsKey("domain");
        boolean hasCidr = m.entries().containsKey("cidr");
        if (hasDomain == hasCidr) {
            error(m, path, hasDomain ? "give either domain or cidr in one entry, not both; make two entries"
                    : "an allowlist entry needs domain (e.g. \"api.example.com\" or \"*.example.com\") or cidr"
                            + " (e.g. \"10.0.0.0/8\")");
            return null;
        }
        List<Integer> ports = ports(m, path);
        if (hasDomain) {
            Scalar s = string(m, "domain", path);
            if (s == null) {
                return null;
            }
            try {
                return new NetworkPolicy.AllowEntry(Domains.normalize(s.text()), null, ports == null ? List.of() : ports);
            } catch (IllegalArgumentException e) {
                error(s, path + ".domain", e.getMessage());
                return null;
            }
        }
        Scalar s = string(m, "cidr", path);
        if (s == null) {
            return null;
        }
        try {
            return new NetworkPolicy.AllowEntry(null, Cidr.parse(s.text()), ports == null ? List.of() : ports);
        } catch (IllegalArgumentException e) {
            error(s, path + ".cidr", "invalid CIDR " + YamlTree.quote(s.text()) + ": " + e.getMessage());
            return null;
        }
    }

    /** The entry's ports, deduplicated in order; empty when absent (every port); null after an error. */
    private List<Integer> ports(MapNode m, String path) {
        Entry e = m.entries().get("ports");
        if (e == null) {
            return List.of();
        }
        String pp = path + ".ports";
        if (!(e.value() instanceof SeqNode seq)) {
            if (e.value() instanceof Scalar s && s.kind() == Kind.INT) {
                error(e.value(), pp, "ports is a list: write [" + s.text() + "]");
            } else {
                error(e.value(), pp, "expected a list of port numbers such as [443], not " + e.value().describe()
                        + " (omit ports to allow every port)");
            }
            return null;
        }
        if (seq.items().isEmpty()) {
            error(seq, pp, "an empty list allows no port, which makes the entry useless;"
                    + " list the ports, or omit ports to allow every port");
            return null;
        }
        if (seq.items().size() > MAX_LIST) {
            error(seq, pp, "more than " + MAX_LIST + " ports; allow every port by omitting ports");
            return null;
        }
        LinkedHashSet<Integer> out = new LinkedHashSet<>();
        boolean ok = true;
        for (int i = 0; i < seq.items().size(); i++) {
            Long v = integerValue(seq.items().get(i), pp + "[" + i + "]", 1, 65535,
                    "a port number, 1-65535 (ranges are not supported: list each port)");
            if (v == null) {
                ok = false;
            } else {
                out.add(v.intValue());
            }
        }
        return ok ? List.copyOf(out) : null;
    }

    private PackagesPolicy packages(MapNode m, String path) {
        keys(m, path, "python");
        MapNode py = section(m, "python", path);
        if (py == null) {
            return PackagesPolicy.NONE;
        }
        String pp = path + ".python";
        keys(py, pp, "preinstalled", "allow_install", "approved_packages", "index_url");
        List<String> pre = packageNames(py, "preinstalled", pp);
        boolean allowInstall = bool(py, "allow_install", pp, false);
        List<String> approved = packageNames(py, "approved_packages", pp);
        URI index = null;
        Entry ie = py.entries().get("index_url");
        if (ie != null && !(ie.value() instanceof Scalar sc && sc.kind() == Kind.NULL)) {
            Scalar s = string(py, "index_url", pp);
            if (s != null) {
                index = indexUrl(s, pp + ".index_url");
            }
        }
        return new PackagesPolicy(new PackagesPolicy.Python(pre, allowInstall, approved, index));
    }

    private URI indexUrl(Scalar s, String path) {
        URI u;
        try {
            u = new URI(s.text());
        } catch (URISyntaxException e) {
            error(s, path, "not a valid URL (" + e.getReason() + "); write it like \"https://pypi.org/simple/\"");
            return null;
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!u.isAbsolute() || !(scheme.equals("http") || scheme.equals("https")) || u.isOpaque()) {
            error(s, path, "the index is an absolute http(s) URL, like \"https://pypi.org/simple/\"");
            return null;
        }
        if (u.getHost() == null || u.getHost().isEmpty()) {
            error(s, path, "the URL has no host name, like \"https://pypi.org/simple/\"");
            return null;
        }
        if (u.getRawFragment() != null) {
            error(s, path, "a package index URL has no #fragment; remove it");
            return null;
        }
        return u;
    }

    /** PEP 503-normalised, deduplicated package names. */
    private List<String> packageNames(MapNode m, String key, String path) {
        SeqNode seq = list(m, key, path);
        if (seq == null) {
            return List.of();
        }
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (int i = 0; i < seq.items().size(); i++) {
            String ip = path + "." + key + "[" + i + "]";
            Node n = seq.items().get(i);
            Scalar s = stringValue(n, ip, "a package name such as \"pandas\"");
            if (s == null) {
                continue;
            }
            String name = s.text();
            if (!PACKAGE.matcher(name).matches()) {
                if (name.matches(".*[=<>!~;@\\[ ].*")) {
                    error(s, ip, "names only, without versions, extras or markers (the name of "
                            + YamlTree.quote(name) + " is " + YamlTree.quote(name.split("[=<>!~;@\\[ ]")[0]) + ")");
                } else {
                    error(s, ip, YamlTree.quote(name) + " is not a package name (letters, digits, and . _ - inside)");
                }
                continue;
            }
            out.add(name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-"));
        }
        return List.copyOf(out);
    }

    private FilesystemPolicy filesystem(MapNode m, String path) {
        keys(m, path, "workspace_dir", "writable", "max_size_mb", "persist_across_calls", "upload_dir", "output_dir");
        FilesystemPolicy d = FilesystemPolicy.DEFAULT;
        String ws = d.workspaceDir();
        Scalar wsNode = m.entries().containsKey("workspace_dir") ? string(m, "workspace_dir", path) : null;
        if (wsNode != null) {
            String wp = path + ".workspace_dir";
            try {
                String w = GuestPaths.normalize(wsNode.text(), null);
                String reserved = GuestPaths.reservedRoot(w);
                if (w.equals("/")) {
                    error(wsNode, wp, "the workspace cannot be / ; use a directory of its own such as /workspace");
                } else if (reserved != null) {
                    error(wsNode, wp, "the workspace cannot be at or under " + reserved + " (" + (reserved.equals("/tmp")
                            ? "/tmp is the session's private temp dir" : "a system directory")
                            + "); use a directory of its own such as /workspace");
                } else {
                    ws = w;
                }
            } catch (IllegalArgumentException e) {
                error(wsNode, wp, e.getMessage());
            }
        }
        boolean writable = bool(m, "writable", path, d.writable());
        long maxSize = integer(m, "max_size_mb", path, d.maxSizeMb(), 1, MAX_SIZE_MB,
                "megabytes, 1-" + MAX_SIZE_MB);
        boolean persist = bool(m, "persist_across_calls", path, d.persistAcrossCalls());
        String upload = subdir(m, "upload_dir", path, ws, "uploads");
        String output = subdir(m, "output_dir", path, ws, "outputs");
        if (upload != null && output != null) {
            if (upload.equals(output)) {
                error(m.entries().get("output_dir") != null ? m.entries().get("output_dir").value() : m,
                        path + ".output_dir", "upload_dir and output_dir are the same directory; give each its own"
                                + " (uploads are kept across calls, outputs are collected after each call)");
            } else if (GuestPaths.isBelow(upload, output) || GuestPaths.isBelow(output, upload)) {
                Entry later = m.entries().get(GuestPaths.isBelow(upload, output) ? "upload_dir" : "output_dir");
                error(later != null ? later.value() : m, path + "." + (GuestPaths.isBelow(upload, output)
                        ? "upload_dir" : "output_dir"), "upload_dir and output_dir must not lie inside each other"
                        + " (uploads would be listed as outputs, or outputs kept as uploads)");
            }
        }
        return new FilesystemPolicy(ws, writable, maxSize, persist,
                upload == null ? ws + "/uploads" : upload, output == null ? ws + "/outputs" : output);
    }

    /** upload_dir or output_dir: relative to the workspace, or absolute inside it. Null after an error. */
    private String subdir(MapNode m, String key, String path, String ws, String defaultName) {
        if (!m.entries().containsKey(key)) {
            return ws + "/" + defaultName;
        }
        Scalar s = string(m, key, path);
        if (s == null) {
            return null;
        }
        try {
            String p = GuestPaths.normalize(s.text(), ws);
            if (!GuestPaths.isBelow(p, ws)) {
                error(s, path + "." + key, "must lie inside workspace_dir (" + ws + "), e.g. \"" + ws + "/"
                        + defaultName + "\"" + (p.equals(ws) ? "; it cannot be the workspace itself" : ""));
                return null;
            }
            return p;
        } catch (IllegalArgumentException e) {
            error(s, path + "." + key, e.getMessage());
            return null;
        }
    }

    private SubprocessPolicy subprocess(MapNode m, String path) {
        keys(m, path, "allow", "allowed_commands", "blocked_commands", "max_runtime_seconds");
        SubprocessPolicy d = SubprocessPolicy.DENY_ALL;
        boolean allow = bool(m, "allow", path, d.allow());
        List<String> allowed = commands(m, "allowed_commands", path);
        List<String> blocked = commands(m, "blocked_commands", path);
        int runtime = (int) integer(m, "max_runtime_seconds", path, d.maxRuntimeSeconds(), 1, MAX_SECONDS,
                "seconds, 1-" + MAX_SECONDS);
        return new SubprocessPolicy(allow, allowed, blocked, runtime);
    }

    private List<String> commands(MapNode m, String key, String path) {
        SeqNode seq = list(m, key, path);
        if (seq == null) {
            return List.of();
        }
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (int i = 0; i < seq.items().size(); i++) {
            String ip = path + "." + key + "[" + i + "]";
            Scalar s = stringValue(seq.items().get(i), ip, "a command name such as \"python3\"");
            if (s == null) {
                continue;
            }
            String c = s.text();
            if (c.indexOf('/') >= 0) {
                String base = c.substring(c.lastIndexOf('/') + 1);
                error(s, ip, "a command is a bare name" + (base.isEmpty() ? "" : " such as " + YamlTree.quote(base))
                        + ", not a path: Cordon finds it on the sandbox's PATH");
            } else if (c.indexOf(' ') >= 0 || c.indexOf('\t') >= 0) {
                error(s, ip, "a command is one name without arguments (arguments are not matched), such as "
                        + YamlTree.quote(c.strip().split("\\s+")[0]));
            } else if (!COMMAND.matcher(c).matches()) {
                error(s, ip, YamlTree.quote(c) + " is not a command name (letters, digits, and . _ + - inside)");
            } else {
                out.add(c);
            }
        }
        return List.copyOf(out);
    }

    private ResourcesPolicy resources(MapNode m, String path) {
        keys(m, path, "max_memory_mb", "max_cpu_seconds", "max_output_size_mb", "max_processes", "max_wall_seconds");
        ResourcesPolicy d = ResourcesPolicy.DEFAULT;
        int mem = (int) integer(m, "max_memory_mb", path, d.maxMemoryMb(), 1, MAX_MEMORY_MB,
                "megabytes, 1-" + MAX_MEMORY_MB);
        int cpu = (int) integer(m, "max_cpu_seconds", path, d.maxCpuSeconds(), 1, MAX_SECONDS,
                "seconds, 1-" + MAX_SECONDS);
        int out = (int) integer(m, "max_output_size_mb", path, d.maxOutputSizeMb(), 1, MAX_OUTPUT_MB,
                "megabytes, 1-" + MAX_OUTPUT_MB);
        int procs = (int) integer(m, "max_processes", path, d.maxProcesses(), 0, MAX_PROCESSES,
                "0-" + MAX_PROCESSES + " (0: no child process at all)");
        int wall = (int) integer(m, "max_wall_seconds", path, defaultWallSeconds(cpu), 1, MAX_SECONDS,
                "seconds, 1-" + MAX_SECONDS);
        return new ResourcesPolicy(mem, cpu, out, procs, wall);
    }

    /**
     * {@code max_wall_seconds} when not given: 60, or twice {@code max_cpu_seconds} when that is more,
     * so a CPU limit raised in the policy is not cut short by a wall clock the user never set.
     */
    static int defaultWallSeconds(int cpuSeconds) {
        return (int) Math.min(MAX_SECONDS, Math.max(DEFAULT_WALL_SECONDS, 2L * cpuSeconds));
    }

    private LoggingPolicy logging(MapNode m, String path, FilesystemPolicy fs) {
        keys(m, path, "level", "log_blocked_operations", "log_file", "audit_file", "egress_file");
        LoggingPolicy d = LoggingPolicy.DEFAULT;
        LoggingPolicy.Level level = choice(m, "level", path, d.level(),
                Map.of("debug", LoggingPolicy.Level.DEBUG, "info", LoggingPolicy.Level.INFO,
                        "warn", LoggingPolicy.Level.WARN, "error", LoggingPolicy.Level.ERROR),
                "debug, info, warn, error");
        boolean blocked = bool(m, "log_blocked_operations", path, d.logBlockedOperations());
        Map<String, String> files = new LinkedHashMap<>();
        for (String key : List.of("log_file", "audit_file", "egress_file")) {
            String f = logPath(m, key, path, fs);
            if (f != null) {
                String clash = files.entrySet().stream().filter(x -> x.getValue().equals(f)).map(Map.Entry::getKey)
                        .findFirst().orElse(null);
                if (clash != null) {
                    error(m.entries().get(key).value(), path + "." + key, "the same file as " + clash
                            + "; each log needs its own file");
                    continue;
                }
                files.put(key, f);
            }
        }
        return new LoggingPolicy(level, blocked, files.get("log_file"), false, false, files.get("audit_file"),
                files.get("egress_file"));
    }

    /**
     * A log path: relative to the workspace or absolute. Inside the workspace it is a guest path the
     * host writes and guest code may only read; outside, a host path guest code never sees.
     */
    private String logPath(MapNode m, String key, String path, FilesystemPolicy fs) {
        Entry e = m.entries().get(key);
        if (e == null || (e.value() instanceof Scalar sc && sc.kind() == Kind.NULL)) {
            return null;
        }
        Scalar s = string(m, key, path);
        if (s == null) {
            return null;
        }
        String kp = path + "." + key;
        String p;
        try {
            p = GuestPaths.normalize(s.text(), fs.workspaceDir());
        } catch (IllegalArgumentException ex) {
            error(s, kp, ex.getMessage());
            return null;
        }
        if (s.text().endsWith("/")) {
            error(s, kp, "a log is a file, not a directory; write a file name such as \""
                    + fs.workspaceDir() + "/sandbox.log\"");
            return null;
        }
        for (String dir : List.of(fs.workspaceDir(), fs.uploadDir(), fs.outputDir())) {
            if (p.equals(dir)) {
                error(s, kp, p + " is a directory of the workspace layout; write a file name such as \""
                        + fs.workspaceDir() + "/sandbox.log\"");
                return null;
            }
        }
        if (GuestPaths.isBelow(p, fs.uploadDir())) {
            error(s, kp, "a log cannot lie in upload_dir (" + fs.uploadDir() + "), which holds the caller's files;"
                    + " put it elsewhere in the workspace, e.g. \"" + fs.workspaceDir() + "/sandbox.log\"");
            return null;
        }
        if (!GuestPaths.isBelow(p, fs.workspaceDir())) {
            for (String sys : List.of("/proc", "/sys", "/dev")) {
                if (GuestPaths.isAtOrBelow(p, sys)) {
                    error(s, kp, "a log cannot be written under " + sys + "; use a file in the workspace or a"
                            + " host log directory");
                    return null;
                }
            }
        }
        return p;
    }

    // ---------------------------------------------------------------- typed access

    /** A mapping; an empty value counts as an empty mapping. Null (after an error) for other types. */
    private MapNode map(Node n, String path, String what) {
        if (n == null) {
            return null;
        }
        if (n instanceof MapNode m) {
            return m;
        }
        if (n instanceof Scalar s && s.kind() == Kind.NULL) {
            return new MapNode(Map.of(), s.line(), s.column());
        }
        error(n, path, what + " must be a mapping of keys, not " + n.describe()
                + (n instanceof Scalar s && s.kind() == Kind.STRING && s.text().contains(":")
                        ? " (is a space missing after a colon?)" : ""));
        return null;
    }

    private MapNode section(MapNode parent, String key, String parentPath) {
        Entry e = parent.entries().get(key);
        return e == null ? null : map(e.value(), join(parentPath, key), key);
    }

    private SeqNode list(MapNode m, String key, String path) {
        Entry e = m.entries().get(key);
        if (e == null) {
            return null;
        }
        Node n = e.value();
        String p = join(path, key);
        if (n instanceof Scalar s && s.kind() == Kind.NULL) {
            return new SeqNode(List.of(), s.line(), s.column());
        }
        if (!(n instanceof SeqNode seq)) {
            String hint = n instanceof Scalar s && s.kind() == Kind.STRING
                    ? " (write [" + YamlTree.quote(s.text()) + "] for a list of one)" : "";
            error(n, p, "expected a list, not " + n.describe() + hint);
            return null;
        }
        if (seq.items().size() > MAX_LIST) {
            error(seq, p, "more than " + MAX_LIST + " items");
            return null;
        }
        return seq;
    }

    private boolean bool(MapNode m, String key, String path, boolean def) {
        Entry e = m.entries().get(key);
        if (e == null) {
            return def;
        }
        if (e.value() instanceof Scalar s && s.kind() == Kind.BOOL) {
            return s.text().equalsIgnoreCase("true");
        }
        String hint = "";
        if (e.value() instanceof Scalar s && s.kind() == Kind.STRING) {
            String t = s.text().toLowerCase(Locale.ROOT);
            if (Set.of("yes", "on", "y", "true").contains(t)) {
                hint = " (write true)";
            } else if (Set.of("no", "off", "n", "false").contains(t)) {
                hint = " (write false)";
            }
        }
        error(e.value(), join(path, key), "expected true or false, not " + e.value().describe() + hint);
        return def;
    }

    private long integer(MapNode m, String key, String path, long def, long min, long max, String valid) {
        Entry e = m.entries().get(key);
        if (e == null) {
            return def;
        }
        Long v = integerValue(e.value(), join(path, key), min, max, valid);
        return v == null ? def : v;
    }

    private Long integerValue(Node n, String path, long min, long max, String valid) {
        if (!(n instanceof Scalar s) || s.kind() != Kind.INT) {
            String hint = n instanceof Scalar s && s.kind() == Kind.STRING && DECIMAL.matcher(s.text()).matches()
                    ? " (remove the quotes)" : "";
            error(n, path, "expected " + valid + ", not " + n.describe() + hint);
            return null;
        }
        if (!DECIMAL.matcher(s.text()).matches()) {
            error(n, path, "write a plain decimal number: " + s.text() + " is read differently by different YAML"
                    + " parsers (octal, hex, digit separators); valid: " + valid);
            return null;
        }
        BigInteger v = new BigInteger(s.text());
        if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
            error(n, path, s.text() + " is out of range; valid: " + valid);
            return null;
        }
        return v.longValue();
    }

    private Scalar string(MapNode m, String key, String path) {
        Entry e = m.entries().get(key);
        return e == null ? null : stringValue(e.value(), join(path, key), "a string");
    }

    private Scalar stringValue(Node n, String path, String what) {
        if (n instanceof Scalar s && s.kind() == Kind.STRING) {
            return s;
        }
        String hint = n instanceof Scalar s && s.kind() != Kind.NULL ? " (quote it to make it a string: \""
                + s.text() + "\")" : "";
        error(n, path, "expected " + what + ", not " + n.describe() + hint);
        return null;
    }

    private <E> E choice(MapNode m, String key, String path, E def, Map<String, E> names, String valid) {
        Entry e = m.entries().get(key);
        if (e == null) {
            return def;
        }
        if (e.value() instanceof Scalar s && s.kind() == Kind.STRING) {
            E v = names.get(s.text());
            if (v != null) {
                return v;
            }
            E folded = names.get(s.text().toLowerCase(Locale.ROOT));
            error(s, join(path, key), "unknown value " + YamlTree.quote(s.text()) + " (expected one of: " + valid + ")"
                    + (folded != null ? "; values are lower case" : ""));
            return def;
        }
        error(e.value(), join(path, key), "expected one of: " + valid + ", not " + e.value().describe());
        return def;
    }

    /** Unknown keys are errors: a typo must never silently mean "default". */
    private void keys(MapNode m, String path, String... allowed) {
        List<String> ok = List.of(allowed);
        for (Entry e : m.entries().values()) {
            if (ok.contains(e.key())) {
                continue;
            }
            StringBuilder b = new StringBuilder("unknown key ").append(YamlTree.quote(e.key()));
            String near = nearest(e.key(), ok);
            List<String> homes = KEY_HOMES.get(e.key());
            if (near != null) {
                b.append("; did you mean ").append(YamlTree.quote(near)).append('?');
            } else if (homes != null) {
                b.append("; it belongs under ").append(String.join(" or ", homes)
                        .replace("[]", "[i]"));
            }
            b.append(" (valid here: ").append(String.join(", ", ok)).append(')');
            error(e.line(), e.column(), join(path, e.key()), b.toString());
        }
    }

    /** A key within edit distance 2 of {@code key}, if any (typos such as allowed_command). */
    private static String nearest(String key, List<String> candidates) {
        String best = null;
        int bestD = 3;
        for (String c : candidates) {
            int d = distance(key, c);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best;
    }

    private static int distance(String a, String b) {
        if (Math.abs(a.length() - b.length()) > 2 || a.length() > 64 || b.length() > 64) {
            return 99;
        }
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private void error(Node n, String path, String problem) {
        error(n.line(), n.column(), path, problem);
    }

    private void error(int line, int column, String path, String problem) {
        errors.add(new Problem(line, column, path, problem));
    }
}
