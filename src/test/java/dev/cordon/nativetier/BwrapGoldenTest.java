package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.Policy;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The pure argv builders against golden files: a policy and fixed host facts in, the exact
 * command line out. A change to the sandbox's shape shows up as a reviewed diff.
 */
class BwrapGoldenTest {

    static final TreeMap<String, String> LINKS = new TreeMap<>(Map.of("/bin", "usr/bin", "/lib", "usr/lib",
            "/lib64", "usr/lib64", "/sbin", "usr/sbin"));
    static final List<String> ETC = List.of("/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl", "/etc/fonts",
            "/etc/matplotlibrc");
    static final TreeMap<String, String> OVERRIDES = new TreeMap<>(Map.of("/etc/passwd", "/run/cordon/etc/w1/passwd",
            "/etc/group", "/run/cordon/etc/w1/group", "/etc/hosts", "/run/cordon/etc/w1/hosts"));

    static SandboxSpec spec(Policy p, int proxyPort, List<String> argv) {
        return new SandboxSpec(LINKS, List.of(), ETC, OVERRIDES, "/run/cordon/ws/w1", p.filesystem().workspaceDir(),
                p.filesystem().writable(), new TreeMap<>(Map.of("/run/cordon/ws/w1/sandbox.log", "/workspace/sandbox.log")),
                "/run/cordon/lib-0123456789abcdef", "/run/cordon/io/w1", List.of("/usr/bin/rm"), 64L * 1024 * 1024,
                "/workspace/sub", Specs.environment(p, Map.of("FOO", "bar", "LD_PRELOAD", "/workspace/evil.so",
                "PATH", "/workspace", "HTTP_PROXY", "http://evil:1"), proxyPort), 3, argv);
    }

    static String lines(List<String> argv) {
        return String.join("\n", argv) + "\n";
    }

    @Test
    void oneShotCommand() throws Exception {
        Policy p = TestPolicies.dataAgent();
        List<String> bwrap = BwrapArgs.build(spec(p, 0, List.of("/usr/bin/head", "-n", "2", "/workspace/data.csv")));
        Golden.check("bwrap-command.argv", lines(bwrap));
        LaunchArgs.Spec launch = new LaunchArgs.Spec("/bin/sh", "/usr/bin/prlimit", "/usr/bin/setpriv", "/usr/bin/bwrap",
                "/run/cordon/seccomp/no-egress-0123456789abcdef.bpf",
                List.of("/sys/fs/cgroup/unified/cordon-1/s1/cgroup.procs", "/sys/fs/cgroup/memory/cordon-1/s1/cgroup.procs",
                        "/sys/fs/cgroup/pids/cordon-1/s1/cgroup.procs"),
                Specs.limits(p, false), 2100000000L, 2100000000L, bwrap);
        Golden.check("launch-command.argv", lines(LaunchArgs.build(launch)));
    }

    @Test
    void workerWithEgressAndReadOnlyWorkspace() throws Exception {
        Policy p = TestPolicies.dataAgent().withFilesystem(new FilesystemPolicy("/data", false, 128, true,
                "/data/uploads", "/data/outputs"));
        List<String> bwrap = BwrapArgs.build(spec(p, 3128, List.of("/usr/bin/python3", "-I", "-S", "-B",
                "/run/cordon/lib/cordon_worker.py")));
        Golden.check("bwrap-worker-egress.argv", lines(bwrap));
        LaunchArgs.Spec launch = new LaunchArgs.Spec("/bin/sh", "/usr/bin/prlimit", null, "/usr/bin/bwrap",
                "/run/cordon/seccomp/egress-0123456789abcdef.bpf", List.of(), Specs.limits(p, true), 1000, 1000, bwrap);
        Golden.check("launch-worker-unprivileged.argv", lines(LaunchArgs.build(launch)));
    }

    @Test
    void invariantsThatMustHoldWhateverTheGoldenSays() {
        Policy p = TestPolicies.dataAgent();
        List<String> a = BwrapArgs.build(spec(p, 0, List.of("/usr/bin/true")));
        for (String flag : List.of("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--die-with-parent", "--new-session", "--disable-userns", "--assert-userns-disabled", "--clearenv")) {
            assertTrue(a.contains(flag), flag);
        }
        assertEquals("ALL", a.get(a.indexOf("--cap-drop") + 1));
        // The root is remounted read-only after every mount, right before the command.
        int sep = a.indexOf("--");
        assertEquals(List.of("--remount-ro", "/dev", "--remount-ro", "/"), a.subList(sep - 4, sep));
        // The only read-write host bind is the workspace.
        for (int i = 0; i < sep; i++) {
            if (a.get(i).equals("--bind")) {
                assertEquals("/run/cordon/ws/w1", a.get(i + 1));
            }
        }
        // Nothing of the host outside /usr, the listed /etc files and Cordon's dirs is bound.
        for (int i = 0; i < sep; i++) {
            if (a.get(i).equals("--bind") || a.get(i).equals("--ro-bind")) {
                String src = a.get(i + 1);
                assertTrue(src.equals("/usr") || src.startsWith("/etc/") || src.startsWith("/run/cordon/")
                        || src.equals("/dev/null"), "unexpected host path bound: " + src);
            }
        }
        // Loader variables from the guest never arrive; PATH is the trusted one.
        assertTrue(!String.join(" ", a).contains("LD_PRELOAD"));
        assertEquals("/usr/local/bin:/usr/bin:/bin", a.get(a.indexOf("PATH") + 1));
    }
}
