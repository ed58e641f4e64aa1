package dev.cordon.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.cordon.policy.SubprocessPolicy;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Table-driven cases from {@code exec-cases.yaml}, plus the message contract. */
class ExecDecisionsTest {

    @TestFactory
    Stream<DynamicTest> cases() throws Exception {
        JsonNode root;
        try (InputStream in = ExecDecisionsTest.class.getResourceAsStream("exec-cases.yaml")) {
            root = new ObjectMapper(new YAMLFactory()).readTree(in);
        }
        Map<String, SubprocessPolicy> policies = new HashMap<>();
        root.get("policies").properties().forEach(e -> policies.put(e.getKey(), new SubprocessPolicy(
                e.getValue().get("allow").asBoolean(), strings(e.getValue().get("allowed")),
                strings(e.getValue().get("blocked")), 30)));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            String note = c.get("note").asText();
            tests.add(DynamicTest.dynamicTest(note, () -> {
                Decision d = ExecDecisions.decide(policies.get(c.get("policy").asText()), c.get("exe").asText());
                String got = (d instanceof Decision.Allow ? "allow " : "deny ") + d.rule();
                assertEquals(c.get("want").asText(), got, note + " (exe " + c.get("exe").asText() + ")");
            }));
        }
        return tests.stream();
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return out;
    }

    @Test
    void denialIsActionableAndInTheGuideFormat() {
        SubprocessPolicy p = new SubprocessPolicy(true, List.of("python"), List.of("curl"), 30);
        Decision.Deny d = assertInstanceOf(Decision.Deny.class, ExecDecisions.decide(p, "/usr/bin/wget"));
        assertEquals("[BLOCKED] subprocess=wget policy=subprocess.allowed_commands", d.blockedLine());
        assertTrue(d.message().contains("add \"wget\" to execution.sandbox.subprocess.allowed_commands"), d.message());

        Decision.Deny sh = assertInstanceOf(Decision.Deny.class, ExecDecisions.decide(p, "/bin/sh"));
        assertTrue(sh.reason().contains("shell"), sh.reason());
        assertTrue(sh.fix().contains("subprocess.run(["), sh.fix());

        Decision.Deny ws = assertInstanceOf(Decision.Deny.class, ExecDecisions.decide(p, "/workspace/python"));
        assertEquals("/workspace/python", ws.target());
        assertTrue(ws.reason().contains("/usr/local/bin:/usr/bin:/bin"), ws.reason());

        Decision.Deny none = assertInstanceOf(Decision.Deny.class,
                ExecDecisions.decide(SubprocessPolicy.DENY_ALL, "/usr/bin/head"));
        assertEquals("[BLOCKED] subprocess=head policy=subprocess.allow", none.blockedLine());
        assertTrue(none.fix().contains("allowed_commands: [\"head\"]"), none.fix());

        Decision.Deny many = ExecDecisions.tooManyProcesses(2, "head");
        assertEquals("resources.max_processes", many.rule());
        assertTrue(many.message().contains("max_processes to 4"), many.message());
    }

    @Test
    void warnsAboutLaunchersShellsInterpretersAndPaths() {
        List<String> w = ExecDecisions.warnings(new SubprocessPolicy(true,
                List.of("head", "bash", "find", "python3", "/usr/bin/wc"), List.of(), 30));
        assertEquals(4, w.size(), w.toString());
        assertTrue(w.get(0).contains("\"bash\" is a shell"), w.get(0));
        assertTrue(w.get(1).contains("\"find\" starts programs"), w.get(1));
        assertTrue(w.get(2).contains("interpreter"), w.get(2));
        assertTrue(w.get(3).contains("never matches"), w.get(3));
        assertTrue(ExecDecisions.warnings(SubprocessPolicy.DENY_ALL).isEmpty());
    }
}
