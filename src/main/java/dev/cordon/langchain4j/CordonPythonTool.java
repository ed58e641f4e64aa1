package dev.cordon.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.mcp.ResultText;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolMemoryId;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.agent.tool.ToolSpecifications;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A ready LangChain4j tool, {@value #NAME}: give it to {@code AiServices.builder(...).tools(tool)}.
 * Each chat memory (the {@link ToolMemoryId}) gets its own Cordon session, so two users' code never
 * shares globals or files; calls without a memory id share the session {@value #DEFAULT_SESSION}.
 *
 * <p>An annotation's text is a compile-time constant, so {@link #DESCRIPTION} cannot carry the
 * policy's rules. Either put {@link #policyDescription()} in the system message, or register the tool
 * with {@link #toolSpecification()} (the same tool, its description followed by the policy's rules)
 * and {@link #execute(ToolExecutionRequest, Object)} as its executor:
 * {@code AiServices.builder(Agent.class).tools(Map.of(tool.toolSpecification(), tool::execute))}.
 */
public final class CordonPythonTool {

    public static final String NAME = "run_python";
    public static final String DEFAULT_SESSION = "langchain4j";
    public static final String DESCRIPTION = "Runs Python 3 code in a sandbox and returns what it printed, any error "
            + "with its traceback, every operation the sandbox blocked (with the policy rule and the fix) and the files "
            + "saved in the output directory. Use it for calculations and for reading and analysing uploaded files. "
            + "print() what you need to see.";
    static final String CODE = "Python 3 source to run; print() the values you need";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Sandbox sandbox;

    /** A tool running calls in {@code sandbox}; the caller keeps and closes the sandbox. */
    public CordonPythonTool(Sandbox sandbox) {
        this.sandbox = Objects.requireNonNull(sandbox, "sandbox");
    }

    // The parameter is named explicitly: Cordon is not compiled with -parameters, and without a name
    // LangChain4j would show the model "arg0" and look the argument up under that name.
    @Tool(name = NAME, value = DESCRIPTION)
    public String runPython(@P(name = "code", value = CODE) String code, @ToolMemoryId Object memoryId) {
        return ResultText.of(run(code, memoryId));
    }

    /** The same call, with the whole result. */
    public ExecResult run(String code, Object memoryId) {
        if (code == null) {
            return badRequest("the argument \"code\" (Python source) is required");
        }
        return sandbox.openSession(sessionName(memoryId)).exec(code);
    }

    /** The policy's rules, as text for the system message. */
    public String policyDescription() {
        return sandbox.describe();
    }

    /** The {@link Tool}'s specification, its description followed by the policy's rules. */
    public ToolSpecification toolSpecification() {
        ToolSpecification annotated;
        try {
            annotated = ToolSpecifications.toolSpecificationFrom(
                    CordonPythonTool.class.getMethod("runPython", String.class, Object.class));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        return annotated.toBuilder().description(DESCRIPTION + "\n\n" + sandbox.describe()).build();
    }

    /**
     * Executes a request for {@link #toolSpecification()} (the shape of LangChain4j's
     * {@code ToolExecutor}, so {@code tool::execute} is one). Arguments are JSON: {@code {"code": "..."}}.
     */
    public String execute(ToolExecutionRequest request, Object memoryId) {
        String code;
        try {
            JsonNode args = JSON.readTree(request.arguments() == null ? "{}" : request.arguments());
            JsonNode c = args == null ? null : args.get("code");
            code = c != null && c.isTextual() ? c.asText() : null;
        } catch (java.io.IOException e) {
            return ResultText.of(badRequest("the arguments are not JSON: " + e.getMessage()));
        }
        return ResultText.of(run(code, memoryId));
    }

    /**
     * The session for a chat memory: its id when that is a plain name, else a digest of it (ids can
     * be any object; session names become directory names). The prefix keeps them apart from
     * sessions the application opens itself.
     */
    static String sessionName(Object memoryId) {
        if (memoryId == null || "default".equals(memoryId)) {
            return DEFAULT_SESSION;
        }
        String id = memoryId.toString();
        if (id.length() <= 60 && Sandbox.SESSION_NAME.matcher(id).matches()) {
            return "m-" + id;
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return "m-" + HexFormat.of().formatHex(d, 0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ExecResult badRequest(String message) {
        return new ExecResult(ExecResult.Status.ERROR, null, "", "", false,
                new ExecResult.Error("BadRequest", message, null), java.util.List.of(), java.util.List.of(),
                null, null, new ExecResult.Timing(0, 0));
    }
}
