package dev.cordon.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** {@code cordon serve} as a child JVM (the launcher's flags, the test class path) and a JSON-lines client. */
final class ServeProcess implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    final Process process;
    private final OutputStream in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    ServeProcess(Path workDir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-Xss8m", "-XX:+EnableDynamicAgentLoading", "-Djdk.attach.allowAttachSelf=true",
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.cordon.cli.Main");
        cmd.add("serve");
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        process = pb.start();
        in = process.getOutputStream();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // process ended
            }
        }, "serve-process-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** Sends a call and waits for its answer (the only one outstanding). */
    JsonNode call(Object id, String session, String code, long seconds) throws Exception {
        ObjectNode req = JSON.createObjectNode();
        req.putPOJO("id", id);
        req.put("session", session);
        req.put("code", code);
        in.write((JSON.writeValueAsString(req) + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        String line = lines.poll(seconds, TimeUnit.SECONDS);
        if (line == null) {
            throw new AssertionError("no answer from serve within " + seconds + " s (alive: " + process.isAlive() + ")");
        }
        return JSON.readTree(line);
    }

    @Override
    public void close() throws Exception {
        in.close();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
