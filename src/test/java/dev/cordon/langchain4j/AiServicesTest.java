package dev.cordon.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.Sandbox;
import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.PolicyLoader;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.MemoryId;
import dev.langchain4j.service.tool.ToolExecutor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CordonPythonTool inside LangChain4j's own AiServices loop. The LLM is replaced by a scripted
 * ChatModel that answers each user message with a run_python call whose code is the message, then
 * answers the tool's result with "tool said: <result>". Everything between (tool discovery, argument
 * mapping, memory ids, executing the tool, feeding the result back) is LangChain4j's real code.
 */
class AiServicesTest {

    interface Agent {
        String chat(@MemoryId String user, @dev.langchain4j.service.UserMessage String message);
    }

    /** Stands in for the LLM; records the tools it was offered. */
    static final class ScriptedModel implements ChatModel {
        final List<List<ToolSpecification>> offered = new CopyOnWriteArrayList<>();
        final AtomicInteger ids = new AtomicInteger();

        @Override
        public ChatResponse doChat(ChatRequest request) {
            offered.add(request.toolSpecifications());
            ChatMessage last = request.messages().get(request.messages().size() - 1);
            AiMessage answer;
            if (last instanceof UserMessage u) {
                String args = "{\"code\": " + quote(u.singleText()) + "}";
                answer = AiMessage.from(ToolExecutionRequest.builder().id("call-" + ids.incrementAndGet())
                        .name("run_python").arguments(args).build());
            } else if (last instanceof ToolExecutionResultMessage r) {
                answer = AiMessage.from("tool said: " + r.text());
            } else {
                throw new IllegalStateException("unexpected " + last);
            }
            return ChatResponse.builder().aiMessage(answer).build();
        }

        static String quote(String s) {
            return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
        }
    }

    static Sandbox sandbox;
    @TempDir
    static Path root;

    @BeforeAll
    static void setUp() throws Exception {
        CordonAgent.ensureInstalled();
        sandbox = Sandbox.builder().workspaceRoot(root).poolSize(1).policy(PolicyLoader.parse("""
                execution:
                  sandbox:
                    filesystem:
                      persist_across_calls: true
                """, "test policy")).build();
    }

    @AfterAll
    static void tearDown() {
        sandbox.close();
    }

    @Test
    void annotatedToolRunsInTheAiServicesLoop() {
        ScriptedModel model = new ScriptedModel();
        Agent agent = AiServices.builder(Agent.class)
                .chatModel(model)
                .chatMemoryProvider(id -> MessageWindowChatMemory.builder().id(id).maxMessages(20).build())
                .tools(new CordonPythonTool(sandbox))
                .build();

        assertEquals("tool said: (no output: the code ran; print() what you want to see)", agent.chat("alice", "x = 20"));
        assertEquals("tool said: 42\n", agent.chat("alice", "print(x + 22)"));
        String bob = agent.chat("bob", "print(x)");
        assertTrue(bob.contains("NameError"), "each chat memory has its own session: " + bob);

        String blocked = agent.chat("alice", "print(open('/etc/passwd').read())");
        assertTrue(blocked.contains("[blocked] filesystem.read /etc/passwd (policy rule filesystem.workspace_only)"), blocked);
        assertTrue(blocked.contains("Fix: "), blocked);

        ToolSpecification seen = model.offered.get(0).get(0);
        assertEquals("run_python", seen.name());
        assertEquals(List.of("code"), List.copyOf(seen.parameters().properties().keySet()));
        assertTrue(sandbox.session("m-alice") != null && sandbox.session("m-bob") != null);
    }

    @Test
    void policyAwareSpecificationWithTheToolAsExecutor() {
        ScriptedModel model = new ScriptedModel();
        CordonPythonTool tool = new CordonPythonTool(sandbox);
        ToolExecutor executor = tool::execute;
        Agent agent = AiServices.builder(Agent.class)
                .chatModel(model)
                .chatMemoryProvider(id -> MessageWindowChatMemory.builder().id(id).maxMessages(20).build())
                .tools(Map.of(tool.toolSpecification(), executor))
                .build();
        assertEquals("tool said: 6\n", agent.chat("carol", "print(sum([1, 2, 3]))"));
        String description = model.offered.get(0).get(0).description();
        assertTrue(description.endsWith(sandbox.describe()), description);
    }
}
