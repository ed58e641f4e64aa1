package dev.cordon.bench.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A row whose runtime lives in another long-lived process (CPython, Node.js) and times its own calls
 * in-process, like a Python agent calling exec() would see them: the request and the answer travel
 * over a pipe outside the measured interval.
 */
abstract class DriverRow extends Row {

    static final ObjectMapper JSON = new ObjectMapper();

    private Process process;
    private Writer in;
    private BufferedReader out;
    protected String version = "";

    abstract List<String> command();

    Path workingDir() {
        return null;
    }

    /** Reads the driver's first line, if it sends one before taking requests. */
    void handshake(BufferedReader out) throws IOException {
    }

    @Override
    void open() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command()).redirectError(ProcessBuilder.Redirect.INHERIT);
        if (workingDir() != null) {
            pb.directory(workingDir().toFile());
        }
        process = pb.start();
        in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        handshake(out);
    }

    @Override
    Samples run(String code, double warmupSeconds, int warmupMin, int n) throws Exception {
        in.write(JSON.writeValueAsString(Map.of("code", code, "n", n, "warmup_s", warmupSeconds,
                "warmup_min", warmupMin)) + "\n");
        in.flush();
        String line = out.readLine();
        if (line == null) {
            throw new IOException(id() + " driver exited (exit " + process.waitFor() + ")");
        }
        JsonNode r = JSON.readTree(line);
        if (r.has("error")) {
            throw new IOException(r.get("error").asText());
        }
        version = r.path("version").asText(version);
        JsonNode s = r.get("samples");
        long[] nanos = new long[s.size()];
        for (int i = 0; i < nanos.length; i++) {
            nanos[i] = s.get(i).asLong();
        }
        return new Samples(nanos, r.path("out").asText());
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            in.close();
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
