package dev.cordon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A `cordon serve` child process and a line-oriented client for it (also used by the reliability tests). */
public final class ServeClient implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    public final Process process;
    private final OutputStream in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    public ServeClient(Path workDir, String... args) throws IOException {
        String[] all = new String[args.length + 1];
        all[0] = "serve";
        System.arraycopy(args, 0, all, 1, args.length);
        process = Cli.start(workDir, all);
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
        }, "serve-client-reader");
        reader.setDaemon(true);
        reader.start();
    }

    void sendRaw(String line) throws IOException {
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    void exec(Object id, String session, String code) throws IOException {
        ObjectNode req = JSON.createObjectNode();
        req.putPOJO("id", id);
        req.put("session", session);
        req.put("code", code);
        sendRaw(JSON.writeValueAsString(req));
    }

    /** The next response line, parsed; fails the test after {@code seconds}. */
    JsonNode next(long seconds) throws Exception {
        String line = lines.poll(seconds, TimeUnit.SECONDS);
        if (line == null) {
            throw new AssertionError("no response from serve within " + seconds + " s (alive: " + process.isAlive() + ")");
        }
        return JSON.readTree(line);
    }

    /** Sends a call and waits for its response (the only one outstanding). */
    public JsonNode call(Object id, String session, String code, long seconds) throws Exception {
        exec(id, session, code);
        return next(seconds);
    }

    @Override
    public void close() throws Exception {
        in.close();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
