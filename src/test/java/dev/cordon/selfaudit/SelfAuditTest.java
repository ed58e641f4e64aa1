package dev.cordon.selfaudit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import dev.cordon.policy.Presets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The battery against real policies: a deliberately weak one (permissive network, a shell allowed)
 * must be reported NOT HELD exactly where it is weak, with the effect counted from outside; the
 * default preset must hold everywhere, limits included.
 */
class SelfAuditTest {

    /**
     * Not under /tmp: both tiers give guest code a private /tmp, so a canary there would be out of
     * reach whatever the gates do. The build directory is a real host path outside the workspace.
     */
    static Path scratch;

    @BeforeAll
    static void agent() throws Exception {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
        scratch = Files.createDirectories(dev.cordon.OutsideDirs.root().resolve("selfaudit-" + System.nanoTime()));
    }

    @AfterAll
    static void clean() {
        Fixture.delete(scratch);
    }

    static Map<String, Check> byId(SelfAudit.Report r, String tier) {
        Map<String, Check> m = new TreeMap<>();
        for (Check c : r.checks()) {
            if (c.tier().equals(tier)) {
                m.put(c.id(), c);
            }
        }
        return m;
    }

    static int count(String observed, Pattern p) {
        Matcher m = p.matcher(observed);
        assertTrue(m.find(), observed);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void aWeakPolicyIsReportedNotHeldWhereItIsWeak() throws Exception {
        boolean nativeOk = NativeTier.get().check().available();
        Policy weak = PolicyLoader.parse("""
                execution:
                  sandbox:
                    network: {policy: permissive}
                    subprocess: {allow: true, allowed_commands: ["sh", "head"]}
                """, "weak.yaml");
        SelfAudit.Report r = SelfAudit.run(weak, new SelfAudit.Options(scratch, false,
                Set.of("net.connect", "net.dns", "proc.shell", "proc.not-allowed", "fs.write-outside"), null));
        Map<String, Check> gp = byId(r, "graalpy");
        assertEquals(Check.Status.NOT_HELD, gp.get("net.connect").status(), r::text);
        assertTrue(count(gp.get("net.connect").observed(), Pattern.compile("accepted (\\d+) connection")) >= 1, r::text);
        assertEquals(Check.Status.NOT_HELD, gp.get("net.dns").status(), r::text);
        assertTrue(count(gp.get("net.dns").observed(), Pattern.compile("resolver: (\\d+)")) >= 1, r::text);
        // What the weak policy does not loosen still holds.
        assertEquals(Check.Status.HELD, gp.get("fs.write-outside").status(), r::text);
        assertEquals(Check.Status.HELD, gp.get("proc.not-allowed").status(), r::text);
        if (nativeOk) {
            assertEquals(Check.Status.NOT_HELD, gp.get("proc.shell").status(), r::text);
            assertTrue(gp.get("proc.shell").observed().contains("the policy allows [sh]"), r::text);
        } else {
            assertEquals(Check.Status.HELD, gp.get("proc.shell").status(), "without the native tier nothing runs");
        }
        assertFalse(r.allHeld());
        assertTrue(r.summary().contains("NOT HELD: net.connect (graalpy)"), r.summary());
    }

    /** The CLI exits non-zero when a check is not held, and prints each verdict. */
    @Test
    void cliExitsNonZeroWhenNotHeld() throws Exception {
        Path policy = Files.writeString(scratch.resolve("open.yaml"),
                "execution: {sandbox: {network: {policy: permissive}}}\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = dev.cordon.cli.Main.run("audit", "--policy", policy.toString(), "--scratch", scratch.toString(),
                    "--no-limits", "--only", "net.udp,fs.dotdot");
        } finally {
            System.setOut(old);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, text);
        assertTrue(Pattern.compile("(?m)^NOT HELD +net\\.udp +graalpy +a UDP socket on 127\\.0\\.0\\.1:\\d+ received [1-9]")
                .matcher(text).find(), text);
        assertTrue(Pattern.compile("(?m)^HELD +fs\\.dotdot +graalpy ").matcher(text).find(), text);
        assertTrue(text.contains("2 checks: 1 held, 1 NOT HELD, 0 skipped"), text);
    }

    /** Everything holds under the conservative default, limits included (they take about a minute). */
    @Test
    void theDefaultPresetHoldsEverywhere() throws Exception {
        SelfAudit.Report r = SelfAudit.run(Presets.load("default"), new SelfAudit.Options(scratch, true, Set.of(), null));
        System.out.print(r.text());
        List<String> expected = List.of("fs.dotdot", "fs.log-tamper", "fs.read-outside", "fs.symlink-out",
                "fs.write-outside", "host.java", "host.polyglot", "host.survival", "limit.cpu", "limit.memory",
                "limit.output", "limit.sleep", "net.connect", "net.dns", "net.listen", "net.odd-ip", "net.udp",
                "proc.lookalike", "proc.not-allowed", "proc.shell");
        Map<String, Check> gp = byId(r, "graalpy");
        assertEquals(expected, List.copyOf(gp.keySet()), r::text);
        for (Check c : r.checks()) {
            assertEquals(Check.Status.HELD, c.status(), () -> c + "\n" + r.text());
        }
        assertTrue(r.allHeld());
        try (var s = Files.list(scratch)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("cordon-audit-")),
                    "the battery removes its scratch directory");
        }
    }

    /** A policy that runs Python in the native engine and allows python subprocesses: three tiers, all held. */
    @Test
    void nativeAndSubprocessTiersAreCheckedToo() throws Exception {
        Assumptions.assumeTrue(NativeTier.get().check().available(), () -> NativeTier.get().check().describe());
        Policy p = PolicyLoader.parse("""
                execution:
                  engine: native
                  sandbox:
                    subprocess: {allow: true, allowed_commands: ["python", "head"]}
                    resources: {max_memory_mb: 512}
                  logging: {log_file: /workspace/sandbox.log}
                """, "native.yaml");
        SelfAudit.Report r = SelfAudit.run(p, new SelfAudit.Options(scratch, false,
                Set.of("fs.read-outside", "fs.write-outside", "fs.log-tamper", "net.connect", "proc.shell"), null));
        for (String tier : List.of("graalpy", "native", "subprocess")) {
            Map<String, Check> m = byId(r, tier);
            assertTrue(m.containsKey("fs.read-outside") && m.containsKey("net.connect"), tier + "\n" + r.text());
        }
        for (Check c : r.checks()) {
            assertEquals(Check.Status.HELD, c.status(), () -> c + "\n" + r.text());
        }
    }
}
