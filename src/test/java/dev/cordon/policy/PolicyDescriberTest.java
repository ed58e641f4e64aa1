package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * describe() against its policy: each fact of the policy appears, and nothing is claimed that the
 * policy (or, for the real table, this build) does not allow. "All enforced" checks the text for
 * the policy as written; the last tests check what this build's Knob table makes of it.
 */
class PolicyDescriberTest {

    private static String all(Policy p) {
        return PolicyDescriber.describe(p, k -> true);
    }

    private static Policy parse(String yaml) throws PolicyException {
        return PolicyLoader.parse(yaml, "t");
    }

    private static void has(String text, String... facts) {
        for (String f : facts) {
            assertTrue(text.contains(f), "missing \"" + f + "\" in:\n" + text);
        }
    }

    private static void lacks(String text, String... claims) {
        for (String c : claims) {
            assertFalse(text.contains(c), "claims \"" + c + "\" in:\n" + text);
        }
    }

    @Test
    void dataAnalysisAsWritten() throws Exception {
        String t = all(Presets.load("data-analysis"));
        has(t, "Work under /workspace/", "Files the user uploaded are in /workspace/uploads/.",
                "Save output files in /workspace/outputs/", "/tmp is a private temp dir counted in the workspace quota.",
                "at most 512 MB", "Files and Python variables persist across calls in this session.",
                "You may connect only to: api.exchangerate-api.com (port 443); any subdomain of githubusercontent.com"
                        + " (*.githubusercontent.com) (port 443). Every other host is blocked.",
                "Every connection is logged.",
                "Preinstalled (import them directly): pandas, numpy, matplotlib, seaborn, openpyxl, requests.",
                "Installing packages is not possible.",
                "You may run only these commands (each may run up to 30 s): python, head, wc. Every other command is blocked.",
                "At most 2 processes at a time.",
                "120 s of CPU time, 240 s of wall-clock time, 1024 MB of memory, 20 MB of output",
                "PermissionError", "Blocked operations are recorded in /workspace/sandbox.log");
        lacks(t, "No network access", "You may install", "listen", "Always blocked", "Each call starts fresh");
    }

    @Test
    void defaultClaimsNothingBeyondTheWorkspace() throws Exception {
        String t = all(Policy.DEFAULT);
        has(t, "No network access: every connection fails.", "Only the Python standard library is available.",
                "Installing packages is not possible", "Running commands (subprocess, os.system, os.popen) is not allowed",
                "Each call starts fresh: Python variables and files you wrote are gone at the next call (uploads stay).",
                "30 s of CPU time, 60 s of wall-clock time, 256 MB of memory, 1 MB of output",
                "/tmp is a private temp dir counted in the workspace quota.", "at most 256 MB");
        lacks(t, "You may connect", "You may run", "Preinstalled", "You may install", "recorded in", "persist across",
                "processes at a time", "listen");
        // With the default, the real table changes nothing: every fact above is enforced or a denial.
        assertEquals(t, PolicyDescriber.describe(Policy.DEFAULT));
    }

    @Test
    void readOnlyWorkspaceIsNotAPlaceToWrite() throws Exception {
        String t = all(parse("execution: {sandbox: {filesystem: {writable: false, persist_across_calls: false}}}"));
        has(t, "The workspace is read-only", "Files the user uploaded are in /workspace/uploads/.",
                "Each call starts fresh: Python variables are gone");
        lacks(t, "Save output files", "/tmp is", "holds at most", "files you wrote");
    }

    @Test
    void movedWorkspaceIsDescribedWhereItIs() throws Exception {
        String t = all(parse("execution: {sandbox: {filesystem: {workspace_dir: /data, upload_dir: in, output_dir: out}}}"));
        has(t, "Work under /data/", "uploaded are in /data/in/", "Save output files in /data/out/");
        lacks(t, "/workspace");
    }

    @Test
    void networkTargetsAndPorts() throws Exception {
        String t = all(parse("""
                execution:
                  sandbox:
                    network:
                      policy: restricted
                      allow_listen: true
                      allowlist:
                        - {domain: api.openai.com, ports: [443]}
                        - {domain: httpbin.org, ports: [80, 443]}
                        - {cidr: 10.0.0.0/8}
                        - {cidr: 10.1.2.3, ports: [5432]}
                """));
        has(t, "You may connect only to: api.openai.com (port 443); httpbin.org (ports 80, 443);"
                + " addresses in 10.0.0.0/8 (any port); the address 10.1.2.3 (port 5432). Every other host is blocked.",
                "You may listen on loopback (127.0.0.1) ports.");
        lacks(t, "Every connection is logged", "any host", "No network access");
    }

    @Test
    void permissiveAndEmptyRestricted() throws Exception {
        String t = all(parse("execution: {sandbox: {network: {policy: permissive}}}"));
        has(t, "You may connect to any host.");
        lacks(t, "only to", "No network access", "logged");
        // restricted with an empty allowlist allows nothing: described as no network.
        String e = all(parse("execution: {sandbox: {network: {policy: restricted, allowlist: []}}}"));
        has(e, "No network access");
        lacks(e, "You may connect");
        // an allowlist under deny is ignored: nothing reachable is claimed.
        String d = all(parse("execution: {sandbox: {network: {policy: deny, allowlist: [{domain: a.example}]}}}"));
        has(d, "No network access");
        lacks(d, "a.example");
    }

    @Test
    void installs() throws Exception {
        String t = all(parse("execution: {sandbox: {packages: {python: {allow_install: true,"
                + " approved_packages: [plotly, seaborn], index_url: 'https://pypi.org/simple/'}}}}"));
        has(t, "Only the Python standard library is available.",
                "You may install only these packages from https://pypi.org/simple/: plotly, seaborn, with `pip install NAME`",
                "Any other install is blocked.", "Installed packages last for one call only.");
        lacks(t, "not possible");
        String any = all(parse("execution: {sandbox: {packages: {python: {allow_install: true}}}}"));
        has(any, "You may install packages when you need them, with `pip install NAME`");
        // Credentials in index_url never reach the agent.
        String secret = all(parse("execution: {sandbox: {filesystem: {persist_across_calls: true}, packages: {python: "
                + "{allow_install: true, approved_packages: [plotly], index_url: 'https://user:s3cret@pkgs.example/simple/'}}}}"));
        has(secret, "from https://pkgs.example/simple/: plotly");
        lacks(secret, "s3cret", "last for one call only");
    }

    @Test
    void commandsAllowedAndVetoed() throws Exception {
        String t = all(parse("execution: {sandbox: {subprocess: {allow: true, allowed_commands: [head, wc, rm],"
                + " blocked_commands: [rm, curl], max_runtime_seconds: 10}, resources: {max_processes: 1}}}"));
        has(t, "You may run only these commands (each may run up to 10 s): head, wc. Every other command is blocked.",
                "Always blocked: rm, curl.", "At most 1 process at a time.");
        lacks(t, "head, wc, rm", "not allowed");
        // allow: false wins over any list.
        String off = all(parse("execution: {sandbox: {subprocess: {allow: false, allowed_commands: [head]}}}"));
        has(off, "Running commands (subprocess, os.system, os.popen) is not allowed");
        lacks(off, "head", "You may run");
    }

    @Test
    void blockedLogOnlyWhereTheAgentCanReadIt() throws Exception {
        String host = all(parse("execution: {logging: {log_file: /var/log/cordon.log}}"));
        has(host, "Blocked operations are recorded by the host.");
        lacks(host, "/var/log");
        String off = all(parse("execution: {logging: {log_file: /workspace/s.log, log_blocked_operations: false}}"));
        lacks(off, "recorded", "s.log");
    }

    /**
     * The real table: a knob not enforced yet is described by what this build does instead. These
     * checks read the table, so they stay true as the lead flips rows.
     */
    @Test
    void describesWhatThisBuildEnforces() throws Exception {
        for (String name : Presets.names()) {
            Policy p = Presets.load(name);
            String t = PolicyDescriber.describe(p);
            if (!Knob.NETWORK_POLICY.enforced()) {
                has(t, "No network access");
                lacks(t, "You may connect", "logged");
            }
            if (!Knob.NETWORK_ALLOWLIST.enforced()) {
                for (NetworkPolicy.AllowEntry e : p.network().allowlist()) {
                    lacks(t, e.domain() != null ? e.domain() : e.cidr().text());
                }
            }
            if (!Knob.PACKAGES_PREINSTALLED.enforced()) {
                has(t, "Only the Python standard library is available.");
                for (String pkg : p.packages().python().preinstalled()) {
                    lacks(t, pkg);
                }
            }
            if (!Knob.PACKAGES_ALLOW_INSTALL.enforced()) {
                lacks(t, "You may install");
            }
            if (!Knob.SUBPROCESS_ALLOW.enforced()) {
                has(t, "Running commands (subprocess, os.system, os.popen) is not allowed");
                for (String c : p.subprocess().allowedCommands()) {
                    lacks(t, " " + c + ",", " " + c + ".");
                }
            }
            if (!Knob.RESOURCES_MAX_PROCESSES.enforced()) {
                lacks(t, "processes at a time", "process at a time");
            }
            // Enforced knobs are described as written.
            has(t, "Work under " + p.filesystem().workspaceDir() + "/",
                    p.resources().maxCpuSeconds() + " s of CPU time", p.resources().maxMemoryMb() + " MB of memory");
        }
    }

    @Test
    void sectionsAreAlwaysPresentAndPlain() throws Exception {
        for (String name : Presets.names()) {
            String t = PolicyDescriber.describe(Presets.load(name));
            for (String section : List.of("\nFiles\n", "\nNetwork\n", "\nPackages\n", "\nCommands\n",
                    "\nLimits per call\n", "\nWhen something is blocked\n")) {
                assertTrue(t.contains(section), name + " lacks " + section);
            }
            assertTrue(t.lines().allMatch(l -> l.length() < 400), name + ": a line is too long for a prompt");
        }
    }
}
