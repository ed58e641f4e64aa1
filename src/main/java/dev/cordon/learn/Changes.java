package dev.cordon.learn;

import dev.cordon.ExecResult;
import dev.cordon.decision.NetworkDecisions;
import dev.cordon.policy.Cidr;
import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import dev.cordon.policy.SubprocessPolicy;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What learn has found the script needs beyond the user's policy: each change derived from one
 * denial (or limit) the script met, with the evidence. Changes only ever widen, and only the knob a
 * denial names: a blocked connect to {@code 127.0.0.1:8080} adds exactly
 * {@code {cidr: "127.0.0.1/32", ports: [8080]}}, never a range or {@code permissive}.
 *
 * <p>Limits are searched by doubling (at most {@link #MAX_FACTOR} times the user's value, and below
 * absolute ceilings), because a limit that stopped a call says only "more", not "how much".
 *
 * <p>Not thread-safe: one learn run owns it.
 */
final class Changes {

    /** Limits grow at most to this factor of the user's value. */
    static final int MAX_FACTOR = 8;

    /** An allowlist entry learn adds; {@code placeholder} while only a lookup has been seen (port unknown). */
    static final class Entry {
        final String domain;
        final String cidr;
        final TreeSet<Integer> ports = new TreeSet<>();
        final List<String> evidence = new ArrayList<>();
        boolean placeholder;

        Entry(String domain, String cidr) {
            this.domain = domain;
            this.cidr = cidr;
        }

        String key() {
            return domain != null ? "domain:" + domain : "cidr:" + cidr;
        }
    }

    /** A scalar knob learn changes, with the user's value and why. */
    record Knob(String path, Object from, Object to, String evidence) { }

    /** Something the script did that no policy key can allow (or that learn will not try). */
    record Refusal(String what, String rule, String reason, String fix) { }

    private final Policy real;
    NetworkPolicy.Mode mode;
    final Map<String, Entry> entries = new LinkedHashMap<>();
    boolean allowListen;
    boolean writable;
    long maxSizeMb;
    boolean subprocessAllow;
    final LinkedHashSet<String> commands = new LinkedHashSet<>();
    final Map<String, String> commandEvidence = new LinkedHashMap<>();
    int maxRuntime;
    int maxMemory;
    int maxCpu;
    int maxOutput;
    int maxProcesses;
    int maxWall;
    final Map<String, String> knobEvidence = new LinkedHashMap<>();
    final Map<String, Refusal> refusals = new LinkedHashMap<>();
    /** Denials already turned into a change: meeting one again means the change did not help. */
    private final Set<String> absorbed = new LinkedHashSet<>();

    Changes(Policy real) {
        this.real = real;
        this.mode = real.network().mode();
        this.allowListen = real.network().allowListen();
        this.writable = real.filesystem().writable();
        this.maxSizeMb = real.filesystem().maxSizeMb();
        this.subprocessAllow = real.subprocess().allow();
        this.maxRuntime = real.subprocess().maxRuntimeSeconds();
        ResourcesPolicy r = real.resources();
        this.maxMemory = r.maxMemoryMb();
        this.maxCpu = r.maxCpuSeconds();
        this.maxOutput = r.maxOutputSizeMb();
        this.maxProcesses = r.maxProcesses();
        this.maxWall = r.maxWallSeconds();
    }

    boolean isEmpty() {
        return mode == real.network().mode() && entries.isEmpty() && allowListen == real.network().allowListen()
                && writable == real.filesystem().writable() && maxSizeMb == real.filesystem().maxSizeMb()
                && subprocessAllow == real.subprocess().allow() && commands.isEmpty()
                && maxRuntime == real.subprocess().maxRuntimeSeconds() && knobs().isEmpty();
    }

    boolean hasPlaceholders() {
        return entries.values().stream().anyMatch(e -> e.placeholder);
    }

    // ------------------------------------------------------------------ absorbing what a run met

    private static final Pattern HOST_PORT = Pattern.compile("^(\\[[^\\]]+\\]|[^\\s\\[\\]]+):(\\d{1,5})(?: \\((.+)\\))?$");
    private static final Pattern NAME = Pattern.compile("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$");

    /**
     * Turns one denial into a change, or a refusal.
     *
     * @return whether the policy to try next differs
     */
    boolean absorb(ExecResult.Blocked b) {
        String op = b.operation();
        int dot = op.indexOf('.');
        String category = dot < 0 ? op : op.substring(0, dot);
        String verb = dot < 0 ? op : op.substring(dot + 1);
        String key = b.policy() + " " + op + " " + b.target();
        String evidence = op.replace('.', ' ') + " " + b.target() + " (blocked by " + b.policy() + ")";
        if (refusals.containsKey(key)) {
            return false;
        }
        if (absorbed.contains(key)) {
            // The change made for it did not let it through: nothing in reach of learn will.
            refuse(key, b, "learn's change for it did not help: " + b.reason());
            return false;
        }
        boolean changed = switch (category) {
            case "network" -> network(verb, b, evidence, key);
            case "filesystem" -> filesystem(b, evidence, key);
            case "subprocess" -> subprocess(b, evidence, key);
            case "resource" -> resource(b, evidence, key);
            default -> refuse(key, b, b.reason());
        };
        if (changed) {
            absorbed.add(key);
        }
        return changed;
    }

    private boolean network(String verb, ExecResult.Blocked b, String evidence, String key) {
        String rule = b.policy();
        if (!rule.equals("network.policy") && !rule.equals("network.restricted") && !rule.equals("network.allowlist")
                && !rule.equals("network.allow_listen")) {
            return refuse(key, b, b.reason());
        }
        switch (verb) {
            case "resolve" -> {
                String name = b.target();
                if (!NAME.matcher(name).matches()) {
                    return refuse(key, b, b.reason());
                }
                Entry e = entries.get("domain:" + name);
                if (e == null) {
                    e = new Entry(name, null);
                    e.placeholder = true;
                    entries.put(e.key(), e);
                }
                e.evidence.add("looked up " + name + " (blocked by " + rule + ")");
                restricted();
                return true;
            }
            case "connect", "sendto" -> {
                Matcher m = HOST_PORT.matcher(b.target());
                if (!m.matches()) {
                    return refuse(key, b, b.reason());
                }
                int port = Integer.parseInt(m.group(2));
                String name = m.group(3);
                Entry e;
                if (name != null && NAME.matcher(name).matches()) {
                    e = entries.computeIfAbsent("domain:" + name, k -> new Entry(name, null));
                } else {
                    String ip = m.group(1).replace("[", "").replace("]", "");
                    InetAddress a = NetworkDecisions.parseLiteral(ip);
                    if (a == null) {
                        return refuse(key, b, b.reason());
                    }
                    String cidr = a.getHostAddress() + (a.getAddress().length == 4 ? "/32" : "/128");
                    e = entries.computeIfAbsent("cidr:" + cidr, k -> new Entry(null, cidr));
                }
                e.placeholder = false;
                e.ports.add(port);
                e.evidence.add(evidence);
                restricted();
                return true;
            }
            case "listen", "accept" -> {
                if (allowListen || b.reason().contains("loopback only")) {
                    return refuse(key, b, b.reason());
                }
                allowListen = true;
                knobEvidence.put("network.allow_listen", evidence);
                return true;
            }
            default -> {
                return refuse(key, b, b.reason());
            }
        }
    }

    private void restricted() {
        if (mode == NetworkPolicy.Mode.DENY) {
            mode = NetworkPolicy.Mode.RESTRICTED;
        }
    }

    private boolean filesystem(ExecResult.Blocked b, String evidence, String key) {
        switch (b.policy()) {
            case "filesystem.writable" -> {
                if (writable) {
                    return refuse(key, b, b.reason());
                }
                writable = true;
                knobEvidence.put("filesystem.writable", evidence);
                return true;
            }
            case "filesystem.max_size_mb" -> {
                return grow("filesystem.max_size_mb", evidence, key, b);
            }
            default -> {
                return refuse(key, b, b.reason());
            }
        }
    }

    private boolean subprocess(ExecResult.Blocked b, String evidence, String key) {
        String cmd = b.target();
        boolean plainName = cmd.matches("[A-Za-z0-9._+-]{1,64}");
        switch (b.policy()) {
            case "subprocess.allow" -> {
                if (real.subprocess().allow() || subprocessAllow && commands.contains(cmd)) {
                    // Allowed by the policy, refused by the host: the native tier cannot run here.
                    return refuse(key, b, b.reason());
                }
                subprocessAllow = true;
                if (plainName && !cmd.equals("?")) {
                    commands.add(cmd);
                    commandEvidence.putIfAbsent(cmd, evidence);
                }
                return true;
            }
            case "subprocess.allowed_commands" -> {
                if (!plainName || commands.contains(cmd)) {
                    return refuse(key, b, b.reason());
                }
                commands.add(cmd);
                commandEvidence.putIfAbsent(cmd, evidence);
                return true;
            }
            case "subprocess.blocked_commands" -> {
                // The user listed it as never to run: learn does not run it, and proposes nothing.
                return refuse(key, b, "it is in blocked_commands, which you set; learn neither ran it nor proposes "
                        + "removing it");
            }
            case "subprocess.max_runtime_seconds" -> {
                return grow("subprocess.max_runtime_seconds", evidence, key, b);
            }
            default -> {
                return refuse(key, b, b.reason());
            }
        }
    }

    private boolean resource(ExecResult.Blocked b, String evidence, String key) {
        return switch (b.policy()) {
            case "resources.max_processes" -> grow("resources.max_processes", evidence, key, b);
            case "subprocess.max_runtime_seconds" -> grow("subprocess.max_runtime_seconds", evidence, key, b);
            default -> refuse(key, b, b.reason());
        };
    }

    /** A limit that ended the call. */
    boolean absorbLimit(ExecResult.Limit limit, ExecResult r) {
        String path = switch (limit) {
            case CPU -> "resources.max_cpu_seconds";
            case WALL -> "resources.max_wall_seconds";
            case MEMORY -> "resources.max_memory_mb";
            case OUTPUT -> "resources.max_output_size_mb";
            case DISK -> "filesystem.max_size_mb";
            case PROCESSES -> "resources.max_processes";
        };
        String ev = "the call hit the " + limit.json() + " limit after " + r.timing().wallMs() + " ms (cpu "
                + r.timing().cpuMs() + " ms)";
        String key = "limit " + path;
        if (refusals.containsKey(key)) {
            return false;
        }
        return grow(path, ev, key, null);
    }

    /** Doubles a limit (processes: +1), within {@link #MAX_FACTOR} and the ceiling; else a refusal. */
    private boolean grow(String path, String evidence, String key, ExecResult.Blocked b) {
        long now = value(path);
        long base = realValue(path);
        long next = path.equals("resources.max_processes") ? now + 1 : now * 2;
        long ceiling = Math.min(base * MAX_FACTOR, switch (path) {
            case "resources.max_cpu_seconds", "resources.max_wall_seconds", "subprocess.max_runtime_seconds" -> 3600;
            case "resources.max_memory_mb" -> 16384;
            case "resources.max_output_size_mb" -> 512;
            case "filesystem.max_size_mb" -> 65536;
            case "resources.max_processes" -> 64;
            default -> throw new AssertionError(path);
        });
        if (path.equals("resources.max_processes")) {
            ceiling = Math.min(64, base + 16);
        }
        if (next > ceiling) {
            String reason = "still over the limit at " + now + " (learn raises " + path + " at most to " + ceiling
                    + "); the script may not finish at any size";
            refusals.put(key, new Refusal(b == null ? evidence : b.operation().replace('.', ' ') + " " + b.target(), path,
                    reason, "look at what the script does; raise " + path + " yourself if it is right"));
            return false;
        }
        set(path, next);
        knobEvidence.put(path, evidence);
        return true;
    }

    private long value(String path) {
        return switch (path) {
            case "resources.max_cpu_seconds" -> maxCpu;
            case "resources.max_wall_seconds" -> maxWall;
            case "resources.max_memory_mb" -> maxMemory;
            case "resources.max_output_size_mb" -> maxOutput;
            case "resources.max_processes" -> maxProcesses;
            case "filesystem.max_size_mb" -> maxSizeMb;
            case "subprocess.max_runtime_seconds" -> maxRuntime;
            default -> throw new AssertionError(path);
        };
    }

    private long realValue(String path) {
        ResourcesPolicy r = real.resources();
        return switch (path) {
            case "resources.max_cpu_seconds" -> r.maxCpuSeconds();
            case "resources.max_wall_seconds" -> r.maxWallSeconds();
            case "resources.max_memory_mb" -> r.maxMemoryMb();
            case "resources.max_output_size_mb" -> r.maxOutputSizeMb();
            case "resources.max_processes" -> r.maxProcesses();
            case "filesystem.max_size_mb" -> real.filesystem().maxSizeMb();
            case "subprocess.max_runtime_seconds" -> real.subprocess().maxRuntimeSeconds();
            default -> throw new AssertionError(path);
        };
    }

    private void set(String path, long v) {
        int i = (int) v;
        switch (path) {
            case "resources.max_cpu_seconds" -> maxCpu = i;
            case "resources.max_wall_seconds" -> maxWall = i;
            case "resources.max_memory_mb" -> maxMemory = i;
            case "resources.max_output_size_mb" -> maxOutput = i;
            case "resources.max_processes" -> maxProcesses = i;
            case "filesystem.max_size_mb" -> maxSizeMb = v;
            case "subprocess.max_runtime_seconds" -> maxRuntime = i;
            default -> throw new AssertionError(path);
        }
    }

    private boolean refuse(String key, ExecResult.Blocked b, String reason) {
        refusals.putIfAbsent(key, new Refusal(b.operation().replace('.', ' ') + " " + b.target(), b.policy(), reason,
                b.fix()));
        return false;
    }

    /** An allowed connection the shadow run made: fixes the port of a placeholder entry. */
    boolean observed(String name, int port) {
        if (name == null) {
            return false;
        }
        Entry e = entries.get("domain:" + name);
        if (e == null || !e.placeholder && e.ports.contains(port)) {
            return false;
        }
        e.placeholder = false;
        e.ports.add(port);
        e.evidence.add("connected to " + name + ":" + port);
        return true;
    }

    /** Scalar knobs that differ from the user's, in YAML order. */
    List<Knob> knobs() {
        List<Knob> out = new ArrayList<>();
        ResourcesPolicy r = real.resources();
        add(out, "resources.max_memory_mb", r.maxMemoryMb(), maxMemory);
        add(out, "resources.max_cpu_seconds", r.maxCpuSeconds(), maxCpu);
        add(out, "resources.max_output_size_mb", r.maxOutputSizeMb(), maxOutput);
        add(out, "resources.max_processes", r.maxProcesses(), maxProcesses);
        add(out, "resources.max_wall_seconds", r.maxWallSeconds(), maxWall);
        return out;
    }

    private void add(List<Knob> out, String path, long from, long to) {
        if (from != to) {
            out.add(new Knob(path, from, to, knobEvidence.get(path)));
        }
    }

    // ------------------------------------------------------------------ policies

    /** The user's policy with the changes: what the printed additions mean. */
    Policy proposed() {
        return apply(false);
    }

    /**
     * The policy of the next shadow run: {@link #proposed()}, plus each placeholder domain on every
     * port (so the script's connection shows which port it needs).
     */
    Policy shadow() {
        return apply(true);
    }

    private Policy apply(boolean shadow) {
        List<NetworkPolicy.AllowEntry> list = new ArrayList<>(real.network().allowlist());
        for (Entry e : entries.values()) {
            // A name only looked up: every port while learning; proposed with 443, marked as a guess.
            List<Integer> ports = !e.placeholder ? List.copyOf(e.ports) : shadow ? List.of() : List.of(443);
            list.add(new NetworkPolicy.AllowEntry(e.domain, e.cidr == null ? null : Cidr.parse(e.cidr), ports));
        }
        NetworkPolicy net = new NetworkPolicy(mode == NetworkPolicy.Mode.RESTRICTED && list.isEmpty()
                ? real.network().mode() : mode, list, allowListen);
        FilesystemPolicy f = real.filesystem();
        FilesystemPolicy fs = new FilesystemPolicy(f.workspaceDir(), writable, maxSizeMb, f.persistAcrossCalls(),
                f.uploadDir(), f.outputDir());
        List<String> allowed = new ArrayList<>(real.subprocess().allowedCommands());
        allowed.addAll(commands);
        SubprocessPolicy sp = new SubprocessPolicy(subprocessAllow, allowed, real.subprocess().blockedCommands(),
                maxRuntime);
        ResourcesPolicy rs = new ResourcesPolicy(maxMemory, maxCpu, maxOutput, maxProcesses, maxWall);
        return real.withNetwork(net).withFilesystem(fs).withSubprocess(sp).withResources(rs);
    }

    /**
     * The shadow run's logging: the user's level and switches, but no file outside the workspace
     * (learn must not write the user's real logs), and every allowed connection recorded in
     * {@code egressFile} (a host path) so placeholders learn their port.
     */
    static LoggingPolicy shadowLogging(Policy real, Policy shadow, String egressFile) {
        LoggingPolicy l = real.logging();
        String ws = real.filesystem().workspaceDir();
        // No egress is recorded under deny (there is none), and the gate refuses a record it cannot write.
        boolean egress = shadow.network().mode() != NetworkPolicy.Mode.DENY;
        return new LoggingPolicy(l.level(), l.logBlockedOperations(), inside(l.logFile(), ws), egress, false,
                inside(l.auditFile(), ws), egress ? egressFile : null);
    }

    private static String inside(String guestPath, String ws) {
        return guestPath != null && (guestPath + "/").startsWith(ws + "/") ? guestPath : null;
    }
}
