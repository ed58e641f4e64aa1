package dev.cordon.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs examples/agent-loop exactly as its README says (one python3 command), against this build,
 * and checks its effects from outside: the chart is a real PNG whose bars match revenue computed
 * here from the same CSV, the blocked write names its rule and a fix, the recovery wrote the file,
 * and nothing was written where the sandbox refused.
 */
class AgentLoopTest {

    static final String USER_PATH = "/home/analyst/reports/revenue.png";

    @Test
    void scriptedAgentUploadsAnalysesChartsIsBlockedAndRecovers(@TempDir Path out) throws Exception {
        Path example = Cli.repo().resolve("examples/agent-loop");
        Path log = out.resolve("run.log");
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", example.resolve("agent_loop.py").toString(),
                "--out", out.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.environment().put("CORDON_COMMAND", Cli.shellQuoted(Cli.command()));
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        boolean done = p.waitFor(10, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String console = Files.readString(log);
        assertTrue(done, "timed out:\n" + console);
        assertEquals(0, p.exitValue(), console);

        // The refused write did not happen.
        assertFalse(Files.exists(Path.of(USER_PATH)), USER_PATH + " must not exist on the host");

        JsonNode transcript = new ObjectMapper().readTree(out.resolve("transcript.json").toFile());
        assertEquals("upload", transcript.get(0).path("action").asText());
        assertEquals("/workspace/uploads/sales.csv", transcript.get(0).path("path").asText());

        int blockedAt = -1;
        for (int i = 0; i < transcript.size(); i++) {
            if (transcript.get(i).path("result").path("blocked").size() > 0) {
                blockedAt = i;
                break;
            }
        }
        assertTrue(blockedAt > 0, "a call was blocked:\n" + console);
        JsonNode refused = transcript.get(blockedAt).path("result");
        assertEquals("error", refused.path("status").asText());
        assertEquals("PermissionError", refused.path("error").path("type").asText());
        JsonNode b = refused.path("blocked").get(0);
        assertEquals("filesystem.workspace_only", b.path("policy").asText());
        assertEquals("filesystem.write", b.path("operation").asText());
        assertEquals(USER_PATH, b.path("target").asText());
        assertTrue(b.path("fix").asText().contains("/workspace/outputs"), b.toString());
        assertTrue(refused.path("error").path("message").asText().contains("filesystem.workspace_only"));

        JsonNode recovered = transcript.get(blockedAt + 1).path("result");
        assertEquals("ok", recovered.path("status").asText(), recovered.toString());
        JsonNode output = recovered.path("outputs").get(0);
        assertEquals("/workspace/outputs/revenue.png", output.path("path").asText());
        Path chart = out.resolve("workspaces/agent/outputs/revenue.png");
        assertEquals(Files.size(chart), output.path("bytes").asLong());

        // A valid PNG (signature, and a full decode by the JDK's reader) with one bar per region, their
        // heights in proportion to the revenue computed here, independently, from the same CSV.
        byte[] png = Files.readAllBytes(chart);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(png, 8));
        BufferedImage img = ImageIO.read(chart.toFile());
        assertNotNull(img, "ImageIO decodes the chart");
        assertEquals(640, img.getWidth());
        assertEquals(400, img.getHeight());
        Map<String, Double> revenue = revenue(example.resolve("sales.csv"));
        List<Double> sorted = revenue.values().stream().sorted((x, y) -> Double.compare(y, x)).toList();
        List<Integer> bars = barHeights(img);
        assertEquals(revenue.size(), bars.size(), "one bar per region: " + bars);
        for (int i = 0; i < bars.size(); i++) {
            double expected = bars.get(0) * sorted.get(i) / sorted.get(0);
            assertEquals(expected, bars.get(i), 2.0, "bar " + i + " heights " + bars + " vs revenue " + sorted);
        }

        String top = revenue.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        String answer = transcript.get(transcript.size() - 1).path("text").asText();
        assertTrue(answer.contains("top: " + top), answer);
        assertTrue(answer.contains("/workspace/outputs/revenue.png"), answer);
    }

    static Map<String, Double> revenue(Path csv) throws Exception {
        Map<String, Double> m = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(csv);
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            m.merge(f[1], Integer.parseInt(f[3]) * Double.parseDouble(f[4]), Double::sum);
        }
        return m;
    }

    /** Heights of the non-white, non-black vertical runs ending on the x axis, left to right, one per bar. */
    static List<Integer> barHeights(BufferedImage img) {
        int axisY = -1;
        for (int y = img.getHeight() - 1; y >= 0 && axisY < 0; y--) {
            if ((img.getRGB(img.getWidth() / 2, y) & 0xffffff) == 0) {
                axisY = y;
            }
        }
        assertTrue(axisY > 0, "an x axis");
        List<Integer> heights = new ArrayList<>();
        int prevColor = 0xffffff;
        for (int x = 0; x < img.getWidth(); x++) {
            int c = img.getRGB(x, axisY - 1) & 0xffffff;
            if (c != 0xffffff && c != 0 && c != prevColor) {
                int y = axisY - 1;
                while (y >= 0 && (img.getRGB(x, y) & 0xffffff) == c) {
                    y--;
                }
                heights.add(axisY - 1 - y);
            }
            prevColor = c == 0 ? 0xffffff : c;
        }
        return heights;
    }
}
