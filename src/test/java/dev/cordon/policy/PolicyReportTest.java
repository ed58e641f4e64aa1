package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyReportTest {

    /** For each knob, a policy that sets it (departs from the default on it). */
    static final Map<Knob, String> SETS = new EnumMap<>(Knob.class);

    static {
        String s = "execution:\n  sandbox:\n";
        SETS.put(Knob.ENGINE_NATIVE, "execution: {engine: native}");
        SETS.put(Knob.ISOLATION_WORKER, "execution: {isolation: worker}");
        SETS.put(Knob.NETWORK_POLICY, s + "    network: {policy: permissive}");
        SETS.put(Knob.NETWORK_ALLOWLIST, s + "    network: {policy: restricted, allowlist: [{domain: a.example}]}");
        SETS.put(Knob.NETWORK_ALLOW_LISTEN, s + "    network: {allow_listen: true}");
        SETS.put(Knob.NETWORK_LOGGING_EGRESS, s + "    network: {logging: {egress: true}}");
        SETS.put(Knob.NETWORK_LOGGING_LOG_BODIES, s + "    network: {logging: {log_bodies: true}}");
        SETS.put(Knob.PACKAGES_PREINSTALLED, s + "    packages: {python: {preinstalled: [six]}}");
        SETS.put(Knob.PACKAGES_ALLOW_INSTALL, s + "    packages: {python: {allow_install: true}}");
        SETS.put(Knob.PACKAGES_APPROVED, s + "    packages: {python: {approved_packages: [six]}}");
        SETS.put(Knob.PACKAGES_INDEX_URL, s + "    packages: {python: {index_url: 'https://pypi.org/simple/'}}");
        SETS.put(Knob.FILESYSTEM_WORKSPACE_DIR, s + "    filesystem: {workspace_dir: /data}");
        SETS.put(Knob.FILESYSTEM_WRITABLE, s + "    filesystem: {writable: false}");
        SETS.put(Knob.FILESYSTEM_MAX_SIZE_MB, s + "    filesystem: {max_size_mb: 10}");
        SETS.put(Knob.FILESYSTEM_PERSIST, s + "    filesystem: {persist_across_calls: true}");
        SETS.put(Knob.FILESYSTEM_UPLOAD_DIR, s + "    filesystem: {upload_dir: in}");
        SETS.put(Knob.FILESYSTEM_OUTPUT_DIR, s + "    filesystem: {output_dir: out}");
        SETS.put(Knob.SUBPROCESS_ALLOW, s + "    subprocess: {allow: true}");
        SETS.put(Knob.SUBPROCESS_ALLOWED_COMMANDS, s + "    subprocess: {allowed_commands: [head]}");
        SETS.put(Knob.SUBPROCESS_BLOCKED_COMMANDS, s + "    subprocess: {blocked_commands: [rm]}");
        SETS.put(Knob.SUBPROCESS_MAX_RUNTIME, s + "    subprocess: {max_runtime_seconds: 5}");
        SETS.put(Knob.RESOURCES_MAX_MEMORY_MB, s + "    resources: {max_memory_mb: 100}");
        SETS.put(Knob.RESOURCES_MAX_CPU_SECONDS, s + "    resources: {max_cpu_seconds: 5}");
        SETS.put(Knob.RESOURCES_MAX_OUTPUT_SIZE_MB, s + "    resources: {max_output_size_mb: 2}");
        SETS.put(Knob.RESOURCES_MAX_WALL_SECONDS, s + "    resources: {max_wall_seconds: 5}");
        SETS.put(Knob.RESOURCES_MAX_PROCESSES, s + "    resources: {max_processes: 0}");
        SETS.put(Knob.LOGGING_LEVEL, "execution: {logging: {level: debug}}");
        SETS.put(Knob.LOGGING_LOG_BLOCKED, "execution: {logging: {log_blocked_operations: false}}");
        SETS.put(Knob.LOGGING_LOG_FILE, "execution: {logging: {log_file: sandbox.log}}");
        SETS.put(Knob.LOGGING_AUDIT_FILE, "execution: {logging: {audit_file: audit.jsonl}}");
        SETS.put(Knob.LOGGING_EGRESS_FILE, "execution: {logging: {egress_file: egress.jsonl}}");
    }

    /**
     * Every knob: a policy setting it has it set (and the default does not); it is reported as not
     * enforced exactly when the table says NOT_YET. A new knob without a line above fails here.
     */
    @Test
    void everyKnobIsReportedExactlyWhenSetAndNotEnforced() throws Exception {
        for (Knob k : Knob.values()) {
            String yaml = SETS.get(k);
            assertTrue(yaml != null, "no test policy sets " + k);
            Policy p = PolicyLoader.parse(yaml, k.name());
            assertTrue(k.isSet(p), k + " is set by " + yaml);
            assertFalse(k.isSet(Policy.DEFAULT), k + " is not set by the default");
            List<Knob> reported = PolicyReport.of(p).notEnforced().stream().map(PolicyReport.Unenforced::knob).toList();
            assertEquals(!k.enforced(), reported.contains(k), k + " reported: " + reported);
            for (Knob other : reported) {
                assertFalse(other.enforced(), "an enforced knob is never reported: " + other);
                assertTrue(other.isSet(p), other + " reported though not set");
            }
        }
    }

    /** Every knob names its gate; a NOT_YET knob also says what this build does instead. */
    @Test
    void everyKnobExplainsItself() {
        for (Knob k : Knob.values()) {
            assertFalse(k.topic().isBlank(), k + " names what enforces it or what it waits for");
            if (!k.enforced()) {
                assertFalse(k.until().isBlank(), k + " says what this build does instead");
            }
        }
    }

    @Test
    void unenforcedMessageNamesValueTopicAndFallback() throws Exception {
        for (Knob k : Knob.values()) {
            if (k.enforced()) {
                continue;
            }
            Policy p = PolicyLoader.parse(SETS.get(k), "t");
            PolicyReport.Unenforced u = PolicyReport.of(p).notEnforced().stream()
                    .filter(x -> x.knob() == k).findFirst().orElseThrow();
            String what = k.path().contains("=") ? k.path() : k.path() + " = " + k.valueIn(p);
            assertEquals(what + ": not enforced yet (waits for: " + k.topic() + "); until then " + k.until(),
                    u.message());
        }
        assertEquals("[a.example]", Knob.NETWORK_ALLOWLIST.valueIn(PolicyLoader.parse(SETS.get(Knob.NETWORK_ALLOWLIST), "t")));
        assertEquals("[a.example [443], 10.0.0.0/8]", Knob.NETWORK_ALLOWLIST.valueIn(PolicyLoader.parse(
                "execution: {sandbox: {network: {policy: restricted, allowlist: [{domain: a.example, ports: [443]},"
                        + " {cidr: 10.0.0.0/8}]}}}", "t")));
    }

    @Test
    void effectiveYamlRoundTripsOddStrings() throws Exception {
        Policy p = PolicyLoader.parse("""
                execution:
                  sandbox:
                    filesystem:
                      workspace_dir: "/wörk \\"a\\" #b: c"
                      upload_dir: "in: 'x'"
                    subprocess: {allow: true, allowed_commands: ["g++", "yes", "null", "true"]}
                  logging:
                    log_file: "- weird [log]"
                """, "t");
        assertEquals("/wörk \"a\" #b: c", p.filesystem().workspaceDir());
        assertEquals(List.of("g++", "yes", "null", "true"), p.subprocess().allowedCommands());
        String yaml = PolicyReport.of(p).effectiveYaml();
        assertEquals(p, PolicyLoader.parse(yaml, "effective"), yaml);
    }

    @Test
    void textHasTheThreeParts() throws Exception {
        Policy p = Presets.load("data-analysis");
        String t = PolicyReport.of(p).text();
        assertTrue(t.startsWith("# Effective policy (every key, defaults filled in)\nexecution:\n"), t);
        assertTrue(t.contains("\n# Warnings: 2\nwarning: network.allowlist[1].domain: "), t);
        PolicyReport r = PolicyReport.of(p);
        assertTrue(r.notEnforced().isEmpty() ? t.endsWith("\n# Not enforced yet: none\n")
                : t.contains("\n# Not enforced yet: " + r.notEnforced().size() + "\nnot enforced: "
                        + r.notEnforced().getFirst().message() + "\n"), t);
        String d = PolicyReport.of(Policy.DEFAULT).text();
        assertTrue(d.contains("# Warnings: none") && d.contains("# Not enforced yet: none"), d);
    }

    @Test
    void riskyCommandsAreClassified() {
        assertTrue(PolicyReport.commandRisk("bash").contains("shell"));
        assertTrue(PolicyReport.commandRisk("python3.12").contains("interpreter"));
        assertTrue(PolicyReport.commandRisk("pip3").contains("installer"));
        assertTrue(PolicyReport.commandRisk("sudo").contains("privilege"));
        assertTrue(PolicyReport.commandRisk("find").contains("argument injection"));
        assertEquals(null, PolicyReport.commandRisk("head"));
        assertEquals(null, PolicyReport.commandRisk("wc"));
    }
}
