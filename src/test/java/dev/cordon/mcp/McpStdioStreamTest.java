package dev.cordon.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.examples.Cli;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The raw stdio stream of {@code cordon mcp}, byte for byte: every stdout line is a JSON-RPC
 * message (guest output and logs never reach it), lines that are not JSON-RPC get an error
 * response and the session goes on, and end of input stops the server cleanly.
 */
class McpStdioStreamTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void protocolStreamStaysCleanAndEofEndsTheServer(@TempDir Path dir) throws Exception {
        Path err = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(Cli.command("mcp", "--workspace-root", dir.resolve("ws").toString()))
                .redirectError(err.toFile())
                .start();
        List<String> lines = new ArrayList<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    synchronized (lines) {
                        lines.add(l);
                        lines.notifyAll();
                    }
                }
            } catch (Exception e) {
                // process gone
            }
        });
        OutputStream in = p.getOutputStream();
        send(in, """
                {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
        awaitResponse(lines, "1");
        send(in, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        send(in, "this is not json");
        send(in, "{\"id\": 7, \"hello\": \"not json-rpc\"}");
        // Guest output on every path to "stdout" there is; the server prints a log line per call too.
        send(in, """
                {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_python","arguments":{"code":"import os, sys\\nos.write(1, b'RAW\\\\n')\\nsys.__stdout__.write('DUNDER\\\\n')\\nsys.__stdout__.flush()\\nprint('PRINTED')\\nos.write(2, b'ERR\\\\n')"}}}""");
        awaitResponse(lines, "2");
        send(in, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}");
        awaitResponse(lines, "3");
        in.close();

        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the server exits when its input ends");
        assertEquals(0, p.exitValue());
        reader.join(10_000);

        Map<String, JsonNode> byId = new HashMap<>();
        List<JsonNode> errors = new ArrayList<>();
        for (String l : lines) {
            JsonNode m = JSON.readTree(l); // throws on anything that is not JSON
            assertEquals("2.0", m.path("jsonrpc").asText(), l);
            if (m.has("error")) {
                errors.add(m);
            } else {
                byId.put(m.get("id").asText(), m);
            }
        }
        assertEquals(2, errors.size(), lines.toString());
        assertEquals(-32700, errors.get(0).path("error").path("code").asInt());
        assertEquals(-32600, errors.get(1).path("error").path("code").asInt());
        assertEquals(7, errors.get(1).path("id").asInt(), "the error answers the id it could read");

        JsonNode call = byId.get("2").path("result");
        String stdout = call.path("structuredContent").path("stdout").asText();
        assertTrue(stdout.contains("RAW") && stdout.contains("DUNDER") && stdout.contains("PRINTED"), call.toString());
        assertEquals("ERR\n", call.path("structuredContent").path("stderr").asText());
        assertEquals("run_python", byId.get("3").path("result").path("tools").get(0).path("name").asText());

        String log = Files.readString(err);
        assertTrue(log.contains("cordon: MCP server on stdio"), log);
        assertTrue(log.contains("cordon: mcp [default] ok "), log);
        assertTrue(log.contains("refused an input line"), log);
        assertTrue(log.contains("MCP client closed the connection"), log);
    }

    static void send(OutputStream in, String line) throws Exception {
        in.write((line.strip() + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    static void awaitResponse(List<String> lines, String id) throws Exception {
        long deadline = System.currentTimeMillis() + 180_000;
        synchronized (lines) {
            while (lines.stream().noneMatch(l -> l.contains("\"id\":" + id + ",") || l.contains("\"id\":\"" + id + "\""))) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    throw new AssertionError("no response " + id + " in " + lines);
                }
                lines.wait(left);
            }
        }
    }
}
