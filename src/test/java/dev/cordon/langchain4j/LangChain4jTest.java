package dev.cordon.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.Sandbox;
import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.agent.tool.ToolSpecifications;
import dev.langchain4j.code.CodeExecutionEngine;
import dev.langchain4j.model.chat.request.json.JsonStringSchema;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The LangChain4j integration called as LangChain4j would call it, with no model in the loop. */
class LangChain4jTest {

    static Policy policy;
    static Sandbox sandbox;
    @TempDir
    static Path root;

    @BeforeAll
    static void setUp() throws Exception {
        CordonAgent.ensureInstalled();
        policy = PolicyLoader.parse("""
                execution:
                  sandbox:
                    filesystem:
                      persist_across_calls: true
                """, "test policy");
        sandbox = Sandbox.builder().policy(policy).workspaceRoot(root).poolSize(1).build();
    }

    @AfterAll
    static void tearDown() {
        sandbox.close();
    }

    @Test
    void engineKeepsStateAndExplainsDenials() throws Exception {
        try (CordonCodeExecutionEngine engine = CordonCodeExecutionEngine.of(policy)) {
            CodeExecutionEngine asLangChain = engine;
            assertEquals("(no output: the code ran; print() what you want to see)", asLangChain.execute("x = 2"));
            assertEquals("42\n", asLangChain.execute("print(x * 21)"));

            String denied = asLangChain.execute("open('/etc/hostname').read()");
            assertTrue(denied.contains("PermissionError"), denied);
            assertTrue(denied.contains("[blocked] filesystem.read /etc/hostname (policy rule filesystem.workspace_only)"), denied);
            assertTrue(denied.contains("Fix: "), denied);
            String host = Files.readString(Path.of("/etc/hostname")).strip();
            if (!host.isEmpty()) {
                assertFalse(denied.contains(host + "\n"), "host file content leaked");
            }

            String failed = asLangChain.execute("1 / 0");
            assertTrue(failed.contains("[error]") && failed.contains("ZeroDivisionError"), failed);
            assertEquals("still 2\n", asLangChain.execute("print('still', x)"), "an error keeps the session's state");
        }
    }

    @Test
    void engineOnAnApplicationSessionLeavesItOpen() {
        var session = sandbox.openSession("app-owned");
        try (CordonCodeExecutionEngine engine = new CordonCodeExecutionEngine(session)) {
            assertEquals("7\n", engine.execute("print(3 + 4)"));
        }
        assertEquals("ok", session.exec("pass").status().json(), "closing the engine did not close the session");
    }

    @Test
    void toolAnnotationsGiveTheSpecificationAModelSees() throws Exception {
        List<ToolSpecification> specs = ToolSpecifications.toolSpecificationsFrom(CordonPythonTool.class);
        assertEquals(1, specs.size());
        ToolSpecification s = specs.get(0);
        assertEquals("run_python", s.name());
        assertEquals(CordonPythonTool.DESCRIPTION, s.description());
        // The memory id is LangChain4j's to fill in, not the model's: only "code" is a parameter.
        assertEquals(List.of("code"), List.copyOf(s.parameters().properties().keySet()));
        assertEquals(List.of("code"), s.parameters().required());
        JsonStringSchema code = assertInstanceOf(JsonStringSchema.class, s.parameters().properties().get("code"));
        assertEquals(CordonPythonTool.CODE, code.description());

        Method m = CordonPythonTool.class.getMethod("runPython", String.class, Object.class);
        assertEquals("run_python", m.getAnnotation(Tool.class).name());
        assertEquals(CordonPythonTool.CODE, m.getParameters()[0].getAnnotation(P.class).value());
    }

    @Test
    void dynamicSpecificationCarriesThePolicyRules() {
        CordonPythonTool tool = new CordonPythonTool(sandbox);
        ToolSpecification s = tool.toolSpecification();
        assertEquals("run_python", s.name());
        assertTrue(s.description().startsWith(CordonPythonTool.DESCRIPTION), s.description());
        assertTrue(s.description().endsWith(sandbox.describe()), s.description());
        assertTrue(s.description().contains("persist across calls"), "this policy's rules, not the default's");
        assertEquals(List.of("code"), s.parameters().required());
        assertEquals(sandbox.describe(), tool.policyDescription());
    }

    @Test
    void toolGivesEachChatMemoryItsOwnSession() throws Exception {
        CordonPythonTool tool = new CordonPythonTool(sandbox);
        assertEquals("(no output: the code ran; print() what you want to see)",
                tool.runPython("secret = 'alice-1'\nopen('/workspace/note.txt', 'w').write(secret)", "alice"));
        assertEquals("alice-1\n", tool.runPython("print(secret)", "alice"));
        String bob = tool.runPython("print(secret)", "bob");
        assertTrue(bob.contains("NameError"), bob);
        String bobFile = tool.runPython("import os\nprint(os.path.exists('/workspace/note.txt'))", "bob");
        assertEquals("False\n", bobFile);
        assertEquals("alice-1", Files.readString(root.resolve("m-alice/note.txt")), "alice's file is in her own workspace");
        assertFalse(Files.exists(root.resolve("m-bob/note.txt")));
    }

    @Test
    void executorEntryPointParsesArguments() {
        CordonPythonTool tool = new CordonPythonTool(sandbox);
        ToolExecutionRequest req = ToolExecutionRequest.builder().id("1").name("run_python")
                .arguments("{\"code\": \"print('via executor', 40 + 2)\"}").build();
        assertEquals("via executor 42\n", tool.execute(req, null));
        String bad = tool.execute(ToolExecutionRequest.builder().id("2").name("run_python").arguments("{\"src\": 1}").build(), null);
        assertTrue(bad.contains("BadRequest") && bad.contains("\"code\""), bad);
        String notJson = tool.execute(ToolExecutionRequest.builder().id("3").name("run_python").arguments("print(1)").build(), null);
        assertTrue(notJson.contains("not JSON"), notJson);
    }

    @Test
    void memoryIdsBecomeSafeSessionNames() {
        assertEquals("langchain4j", CordonPythonTool.sessionName(null));
        assertEquals("langchain4j", CordonPythonTool.sessionName("default"));
        assertEquals("m-user-7", CordonPythonTool.sessionName("user-7"));
        String odd = CordonPythonTool.sessionName("../../etc");
        assertTrue(Sandbox.SESSION_NAME.matcher(odd).matches(), odd);
        assertNotEquals(odd, CordonPythonTool.sessionName("../../etd"));
        assertTrue(Sandbox.SESSION_NAME.matcher(CordonPythonTool.sessionName("x".repeat(500))).matches());
    }
}
