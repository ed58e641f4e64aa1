package dev.cordon.decision;

import dev.cordon.policy.SubprocessPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The process gate's decision: may guest code start this executable? A pure function of
 * {@code execution.sandbox.subprocess}; the enforcement points (the in-JVM {@code ProcessHandler}
 * and the native worker's exec hook) only apply the answer.
 *
 * <p>Rules, in order:
 * <ol>
 *   <li>{@code allow: false} denies every start (rule {@code subprocess.allow}).</li>
 *   <li>A command is known by its NAME on the fixed trusted PATH {@link #TRUSTED_PATH}. An
 *       executable given as a path counts only if it is absolute and lies directly in one of those
 *       directories; {@code ./python}, {@code /workspace/python} or {@code bin/python} are never
 *       {@code python} (rule {@code subprocess.allowed_commands}, nothing in the policy can allow a
 *       workspace file). Guest-controlled {@code PATH} therefore cannot make a workspace file look
 *       like an allowed command.</li>
 *   <li>{@code blocked_commands} wins over {@code allowed_commands} (rule
 *       {@code subprocess.blocked_commands}).</li>
 *   <li>The name must match an {@code allowed_commands} entry (rule
 *       {@code subprocess.allowed_commands[i]}); nothing matched is a deny with rule
 *       {@code subprocess.allowed_commands}.</li>
 * </ol>
 *
 * <p>Name families: {@code python} also covers {@code python3} and {@code python3.N}, and
 * {@code pip} covers {@code pip3} and {@code pip3.N}, in both lists, because Debian installs no
 * plain {@code python} and the guide lists {@code python}. Nothing else is aliased: a shell
 * ({@link #SHELLS}) matches only its exact name, so allowing {@code bash} does not allow {@code sh}.
 *
 * <p>Arguments are not examined. An allowed command runs with whatever arguments guest code gives
 * it, inside the same sandbox as every other command (same namespaces, seccomp filter, rlimits,
 * cgroup and filesystem view): {@code python -c CODE} runs because {@code python} is allowed, and
 * the code it runs is contained exactly like the guest. Commands that start other programs named
 * in their arguments ({@link #SHELLS}, {@link #LAUNCHERS}, {@link #INTERPRETERS}) therefore make the
 * allowlist a statement about what guest code starts directly, not about everything that runs:
 * {@link #warnings(SubprocessPolicy)} says so for {@code policy check}. Blocked commands are also
 * masked inside every sandbox (see the native tier), so {@code find -exec rm} or {@code env rm}
 * cannot start a blocked {@code rm} binary.
 */
public final class ExecDecisions {

    /** The only directories a command is looked up in. Never the workspace, never the guest's PATH. */
    public static final List<String> TRUSTED_PATH = List.of("/usr/local/bin", "/usr/bin", "/bin");

    /** Shells: run any command line. Never allowed unless named exactly. */
    public static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh",
            "pdksh", "ash", "csh", "tcsh", "fish", "rbash", "posh", "yash", "busybox", "toybox");

    /**
     * Programs whose arguments name another program to run ({@code env rm}, {@code xargs rm},
     * {@code find -exec rm}, {@code timeout 5 rm}, ...). Allowing one lets guest code start any
     * program visible in the sandbox through it.
     */
    public static final Set<String> LAUNCHERS = Set.of("env", "xargs", "find", "nohup", "nice", "ionice",
            "timeout", "stdbuf", "setsid", "setpriv", "unshare", "nsenter", "chroot", "sudo", "su", "doas",
            "runuser", "time", "watch", "flock", "strace", "ltrace", "gdb", "script", "parallel", "make",
            "ssh", "git", "tar", "rsync", "sed", "awk", "gawk", "mawk", "vi", "vim", "less", "man", "pip",
            "pip3");

    /** General-purpose interpreters: allowing one allows arbitrary code (inside the sandbox). */
    public static final Set<String> INTERPRETERS = Set.of("python", "python3", "perl", "ruby", "node", "nodejs",
            "lua", "tclsh", "php", "Rscript", "java", "jshell", "graalpy");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");
    private static final Pattern PYTHON = Pattern.compile("python(3(\\.[0-9]{1,2})?)?");
    private static final Pattern PIP = Pattern.compile("pip(3(\\.[0-9]{1,2})?)?");

    private ExecDecisions() { }

    /**
     * The name the policy knows {@code executable} by: its file name when it is an absolute path
     * directly inside a {@link #TRUSTED_PATH} directory, itself when it is a plain name, else null.
     */
    public static String commandName(String executable) {
        if (executable == null || executable.isEmpty() || executable.indexOf('\0') >= 0) {
            return null;
        }
        int slash = executable.lastIndexOf('/');
        if (slash < 0) {
            return NAME.matcher(executable).matches() ? executable : null;
        }
        if (!executable.startsWith("/")) {
            return null;
        }
        String dir = normalizeDir(executable.substring(0, slash));
        String name = executable.substring(slash + 1);
        if (dir == null || !TRUSTED_PATH.contains(dir) || !NAME.matcher(name).matches()) {
            return null;
        }
        return name;
    }

    /** Lexical normalisation of an absolute directory; null if it climbs above the root. */
    private static String normalizeDir(String dir) {
        List<String> parts = new ArrayList<>();
        for (String s : dir.split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                if (parts.isEmpty()) {
                    return null;
                }
                parts.removeLast();
            } else {
                parts.add(s);
            }
        }
        return "/" + String.join("/", parts);
    }

    /** The family a name belongs to ({@code python}, {@code pip}) or the name itself. */
    static String family(String name) {
        if (PYTHON.matcher(name).matches()) {
            return "python";
        }
        if (PIP.matcher(name).matches()) {
            return "pip";
        }
        return name;
    }

    /** Whether policy entry {@code entry} names command {@code name} (exact, or the same python/pip family). */
    public static boolean matches(String entry, String name) {
        if (entry == null || entry.indexOf('/') >= 0) {
            return false; // entries are names; a path entry never matches (the loader should reject it)
        }
        return entry.equals(name) || family(entry).equals(family(name));
    }

    /**
     * Decides whether guest code may start {@code executable} (argv[0] as the guest gave it, or as
     * GraalPy resolved it on the guest's PATH).
     */
    public static Decision decide(SubprocessPolicy p, String executable) {
        String name = commandName(executable);
        String shown = name != null ? name : String.valueOf(executable);
        if (!p.allow()) {
            return new Decision.Deny(Decision.Category.SUBPROCESS, "exec", shown, "subprocess.allow",
                    "this policy allows no subprocesses",
                    "execution.sandbox.subprocess: {allow: true, allowed_commands: [\""
                            + (name != null ? name : "COMMAND") + "\"]}");
        }
        if (name == null) {
            return new Decision.Deny(Decision.Category.SUBPROCESS, "exec", shown, "subprocess.allowed_commands",
                    "only commands found by name on the trusted PATH " + String.join(":", TRUSTED_PATH)
                            + " can run; a relative path or a file in the workspace is never a command",
                    "run the command by its name (e.g. [\"python3\", \"script.py\"]) and list that name in "
                            + "execution.sandbox.subprocess.allowed_commands; no policy runs workspace files "
                            + "as commands");
        }
        List<String> blocked = p.blockedCommands();
        for (int i = 0; i < blocked.size(); i++) {
            if (matches(blocked.get(i), name)) {
                return new Decision.Deny(Decision.Category.SUBPROCESS, "exec", name, "subprocess.blocked_commands",
                        name + " is listed in blocked_commands, which wins over allowed_commands",
                        "remove \"" + blocked.get(i) + "\" from execution.sandbox.subprocess.blocked_commands"
                                + " and list it in allowed_commands");
            }
        }
        List<String> allowed = p.allowedCommands();
        for (int i = 0; i < allowed.size(); i++) {
            if (matches(allowed.get(i), name)) {
                return Decision.allow("subprocess.allowed_commands[" + i + "]");
            }
        }
        if (SHELLS.contains(name)) {
            return new Decision.Deny(Decision.Category.SUBPROCESS, "exec", name, "subprocess.allowed_commands",
                    name + " is a shell, which can run any command, and it is not in allowed_commands"
                            + " (os.system, os.popen and shell=True start /bin/sh)",
                    "call the program directly, e.g. subprocess.run([\"wc\", \"-l\", \"data.csv\"]) with its name"
                            + " in allowed_commands; or, to allow shells, add \"" + name
                            + "\" to execution.sandbox.subprocess.allowed_commands");
        }
        return new Decision.Deny(Decision.Category.SUBPROCESS, "exec", name, "subprocess.allowed_commands",
                name + " is not in allowed_commands",
                "add \"" + name + "\" to execution.sandbox.subprocess.allowed_commands");
    }

    /**
     * The denial when a session already runs {@code max} processes: guest code sees it as
     * {@code BlockingIOError} (EAGAIN), the result as limit {@code processes}.
     */
    public static Decision.Deny tooManyProcesses(int max, String command) {
        return new Decision.Deny(Decision.Category.RESOURCES, "processes", command, "resources.max_processes",
                "the session already runs " + max + " child process" + (max == 1 ? "" : "es")
                        + " (the most resources.max_processes allows at once)",
                "wait for a child to finish, or raise execution.sandbox.resources.max_processes to " + (max * 2));
    }

    /**
     * Warnings for {@code policy check}: allowed commands that start other programs, and entries
     * that can never match.
     */
    public static List<String> warnings(SubprocessPolicy p) {
        List<String> w = new ArrayList<>();
        if (!p.allow()) {
            return w;
        }
        for (String c : p.allowedCommands()) {
            if (c.indexOf('/') >= 0) {
                w.add("subprocess.allowed_commands: \"" + c + "\" is a path; commands are names looked up on "
                        + String.join(":", TRUSTED_PATH) + ", so this entry never matches");
            } else if (SHELLS.contains(c)) {
                w.add("subprocess.allowed_commands: \"" + c + "\" is a shell: guest code can run any program visible"
                        + " in the sandbox through it (blocked_commands are still masked)");
            } else if (LAUNCHERS.contains(c)) {
                w.add("subprocess.allowed_commands: \"" + c + "\" starts programs named in its arguments"
                        + " (e.g. env, xargs, find -exec): guest code can run other programs through it");
            } else if (INTERPRETERS.contains(family(c))) {
                w.add("subprocess.allowed_commands: \"" + c + "\" is an interpreter: it runs arbitrary code"
                        + " (contained by the same sandbox)");
            }
        }
        return w;
    }
}
