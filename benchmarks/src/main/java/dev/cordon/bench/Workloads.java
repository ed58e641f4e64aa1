package dev.cordon.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Random;

/**
 * The Python code every benchmark and every row of the comparison runs, so that each figure has a
 * baseline that ran exactly the same text. The tool-call payload is generated from a fixed seed, so
 * runs are comparable across machines and days.
 */
public final class Workloads {

    private Workloads() { }

    /** The smallest useful call: what per-call overhead looks like with nothing to hide behind. */
    public static final String TINY = "x = 6 * 7";

    /** A realistic agent tool call (~50 lines): JSON parse, validate, aggregate, format; prints one line. */
    public static final String TOOL = "PAYLOAD = r'''" + payload(60, 42) + "'''\n" + resource("tool.py");

    /** The first 60 characters of the tool call's JSON report, as every correct runtime prints it. */
    public static final String TOOL_EXPECTED_PREFIX = "{\"customers\": ";

    /** A new small snippet each time (an agent rarely sends the same code twice): parse + run. */
    public static String newSmall(long n) {
        return "x = " + n + " * 7";
    }

    /** The n-body kernel for {@code steps} steps; leaves the energy in {@code energy}. */
    public static String nbody(int steps) {
        return resource("nbody.py").replace("nbody(STEPS)", "nbody(" + steps + ")");
    }

    /** Opens, reads and closes one file (through whatever filesystem the runtime has). */
    public static String fileRead(String path) {
        return "with open(" + pyString(path) + ", 'rb') as f:\n    data = f.read()\n";
    }

    /** One TCP connect to a loopback port and close. */
    public static String loopbackConnect(int port) {
        return "import socket\ns = socket.create_connection(('127.0.0.1', " + port + "))\ns.close()\n";
    }

    static String pyString(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Orders for the tool call: some cancelled, some empty, some below the minimum. */
    static String payload(int orders, long seed) {
        Random r = new Random(seed);
        String[] skus = {"A-100", "A-101", "B-200", "B-201", "C-300", "C-301", "D-400", "E-500"};
        StringBuilder b = new StringBuilder("{\"source\": \"bench\", \"orders\": [");
        for (int i = 0; i < orders; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append("{\"id\": ").append(1000 + i)
                    .append(", \"customer\": \"customer-").append((char) ('a' + r.nextInt(12))).append('"')
                    .append(", \"status\": \"").append(r.nextInt(10) == 0 ? "cancelled" : "paid").append('"')
                    .append(", \"items\": [");
            int n = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(4);
            for (int k = 0; k < n; k++) {
                if (k > 0) {
                    b.append(", ");
                }
                b.append("{\"sku\": \"").append(skus[r.nextInt(skus.length)]).append('"')
                        .append(", \"qty\": ").append(1 + r.nextInt(5))
                        .append(", \"price\": ").append(String.format(Locale.ROOT, "%.2f", 2 + r.nextDouble() * 60));
                if (r.nextInt(4) == 0) {
                    b.append(", \"discount\": ").append(String.format(Locale.ROOT, "%.2f", r.nextInt(30) / 100.0));
                }
                b.append('}');
            }
            b.append("]}");
        }
        return b.append("]}").toString();
    }

    static String resource(String name) {
        try (InputStream in = Workloads.class.getResourceAsStream("/bench/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing benchmark resource /bench/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
