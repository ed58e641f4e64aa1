package dev.cordon.bench.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Rows that run Python in another process: in-process exec there, or a new process per call. */
final class ProcessRows {

    private ProcessRows() { }

    static final String PYTHON = "/usr/bin/python3";

    static String resource(String name) throws IOException {
        try (InputStream in = ProcessRows.class.getResourceAsStream("/bench/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** What LangChain's PythonREPL does: exec(code, globals) in one long-lived CPython, stdout to StringIO. */
    static final class CPythonExec extends DriverRow {
        private final Path work;

        CPythonExec(Path work) {
            this.work = work;
        }

        @Override
        String id() {
            return "cpython-exec";
        }

        @Override
        String label() {
            return "CPython in-process exec (PythonREPL style, no isolation)";
        }

        @Override
        String unavailable() {
            return Files.isExecutable(Path.of(PYTHON)) ? null : PYTHON + " is not installed";
        }

        @Override
        List<String> command() {
            try {
                Path driver = work.resolve("cpython_repl.py");
                Files.writeString(driver, resource("cpython_repl.py"));
                return List.of(PYTHON, "-I", driver.toString());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        String note() {
            return "CPython " + version + "; timed inside the process around exec()";
        }
    }

    /** Pyodide (CPython compiled to WebAssembly) on Node.js, from the npm package in benchmarks/node_modules. */
    static final class Pyodide extends DriverRow {
        private final Path benchDir;
        private final Path work;
        private String loaded = "";

        Pyodide(Path benchDir, Path work) {
            this.benchDir = benchDir;
            this.work = work;
        }

        @Override
        String id() {
            return "pyodide";
        }

        @Override
        String label() {
            return "Pyodide on Node.js (wasm, warm runPython)";
        }

        @Override
        String unavailable() {
            if (!Compare.onPath("node")) {
                return "node is not installed (apt-get install nodejs)";
            }
            if (!Files.isDirectory(benchDir.resolve("node_modules/pyodide"))) {
                return "the pyodide npm package is not installed: run `npm ci` in benchmarks/ (benchmarks/run does)";
            }
            return null;
        }

        @Override
        List<String> command() {
            try {
                // Node resolves "pyodide" from the script's own directory upwards: the script must sit
                // under benchmarks/ (next to node_modules), not inside the jar.
                Path driver = work.resolve("pyodide_driver.mjs");
                Files.writeString(driver, resource("pyodide_driver.mjs"));
                return List.of("node", driver.toString());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        Path workingDir() {
            return benchDir;
        }

        @Override
        void handshake(BufferedReader out) throws IOException {
            String line = out.readLine();
            if (line == null) {
                throw new IOException("the Pyodide driver exited before loading");
            }
            JsonNode r = JSON.readTree(line);
            if (r.has("error")) {
                throw new IOException("Pyodide did not load: " + r.get("error").asText());
            }
            version = r.path("version").asText();
            loaded = "Pyodide " + r.path("pyodide").asText() + " (Python " + version + "), loaded in "
                    + Math.round(r.path("loadMs").asDouble()) + " ms";
        }

        @Override
        String note() {
            return loaded;
        }
    }

    /** A new process per call: the code runs as {@code python3 -I -c CODE}; timed from spawn to exit. */
    static class CPythonSpawn extends Row {
        @Override
        String id() {
            return "cpython-spawn";
        }

        @Override
        String label() {
            return "CPython subprocess per call (no isolation)";
        }

        @Override
        boolean perCallProcess() {
            return true;
        }

        @Override
        String unavailable() {
            return Files.isExecutable(Path.of(PYTHON)) ? null : PYTHON + " is not installed";
        }

        List<String> command(String code) {
            return List.of(PYTHON, "-I", "-c", code);
        }

        @Override
        void open() throws IOException {
        }

        @Override
        Samples run(String code, double warmupSeconds, int warmupMin, int n) throws Exception {
            List<String> cmd = command(code);
            long end = System.nanoTime() + (long) (warmupSeconds * 1e9);
            for (int k = 0; k < warmupMin || System.nanoTime() < end; k++) {
                once(cmd);
            }
            long[] s = new long[n];
            String out = "";
            for (int i = 0; i < n; i++) {
                long t = System.nanoTime();
                out = once(cmd);
                s[i] = System.nanoTime() - t;
            }
            return new Samples(s, out);
        }

        private static String once(List<String> cmd) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IOException("exit " + rc + ": " + out);
            }
            return out;
        }

        @Override
        public void close() {
        }
    }

    /**
     * A new bubblewrap sandbox per call with CPython in it: every namespace unshared, no network,
     * read-only /usr, a private /tmp and workspace, no capabilities, empty environment (the line of
     * DESIGN.md section 4, without the seccomp filter and rlimits, which add ~1 ms more).
     */
    static final class BwrapCPythonSpawn extends CPythonSpawn {
        private final Path workspace;

        BwrapCPythonSpawn(Path work) {
            this.workspace = work.resolve("bwrap-ws");
        }

        @Override
        String id() {
            return "bwrap-cpython";
        }

        @Override
        String label() {
            return "bwrap + CPython per call";
        }

        @Override
        String unavailable() {
            String py = super.unavailable();
            if (py != null) {
                return py;
            }
            return Compare.onPath("bwrap") ? null : "bubblewrap is not installed (apt-get install bubblewrap)";
        }

        @Override
        void open() throws IOException {
            Files.createDirectories(workspace);
        }

        @Override
        List<String> command(String code) {
            List<String> c = new ArrayList<>(List.of("bwrap",
                    "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                    "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                    "--ro-bind", "/usr", "/usr"));
            for (String l : new String[] {"/bin", "/lib", "/lib64", "/sbin"}) {
                Path p = Path.of(l);
                try {
                    if (Files.isSymbolicLink(p)) {
                        c.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), l));
                    } else if (Files.isDirectory(p)) {
                        c.addAll(List.of("--ro-bind", l, l));
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            c.addAll(List.of("--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                    "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
                    "--proc", "/proc", "--dev", "/dev", "--size", String.valueOf(64 << 20), "--tmpfs", "/tmp",
                    "--bind", workspace.toString(), "/workspace", "--chdir", "/workspace", "--clearenv",
                    "--setenv", "PATH", "/usr/bin:/bin", "--remount-ro", "/",
                    PYTHON, "-I", "-c", code));
            return c;
        }
    }

}
