package dev.cordon.bench.compare;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * A horizontal bar chart of the medians, one group per workload, on a log scale (the rows span
 * five orders of magnitude: µs for in-process calls, ms for a process per call). Drawn with Java2D
 * so the benchmarks need no charting library.
 */
final class Chart {

    private Chart() { }

    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0x7f7f7f), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xd62728), new Color(0x17becf),
    };

    static void write(Path file, List<Row> rows, List<Compare.Workload> workloads, List<Compare.Cell> cells,
            Map<String, String> unavailable) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int barH = 18;
        int gap = 4;
        int groupGap = 34;
        int left = 380;
        int right = 150;
        int top = 70;
        int plotW = 760;
        int width = left + plotW + right;
        int height = top + workloads.size() * (rows.size() * (barH + gap) + groupGap) + 40;
        double min = Double.MAX_VALUE;
        double max = 0;
        for (Compare.Cell c : cells) {
            if (c.medianUs() != null) {
                min = Math.min(min, c.medianUs());
                max = Math.max(max, c.medianUs());
            }
        }
        if (max == 0) {
            min = 1;
            max = 10;
        }
        double lo = Math.pow(10, Math.floor(Math.log10(min)));
        double hi = Math.pow(10, Math.ceil(Math.log10(max)));
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString("Median latency per call (log scale, lower is better), one run", 10, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        // Decade grid lines.
        for (double d = lo; d <= hi * 1.0001; d *= 10) {
            int x = left + (int) (plotW * Math.log10(d / lo) / Math.log10(hi / lo));
            g.setColor(new Color(0xdddddd));
            g.drawLine(x, top - 10, x, height - 30);
            g.setColor(Color.DARK_GRAY);
            g.drawString(human(d), x - 12, top - 16);
        }
        int y = top;
        for (Compare.Workload w : workloads) {
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(w.label(), 10, y + 4);
            y += 12;
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            for (int i = 0; i < rows.size(); i++) {
                Row r = rows.get(i);
                Compare.Cell c = cells.stream().filter(x -> x.row().equals(r.id()) && x.workload().equals(w.id()))
                        .findFirst().orElseThrow();
                g.setColor(Color.BLACK);
                String label = r.label().length() > 60 ? r.label().substring(0, 58) + "…" : r.label();
                g.drawString(label, 10, y + barH - 5);
                if (c.medianUs() == null) {
                    g.setColor(Color.GRAY);
                    String why = c.unavailable() == null ? "n/a" : c.unavailable();
                    g.drawString("n/a: " + (why.length() > 110 ? why.substring(0, 108) + "…" : why), left + 4, y + barH - 5);
                } else {
                    int len = Math.max(2, (int) (plotW * Math.log10(c.medianUs() / lo) / Math.log10(hi / lo)));
                    g.setColor(COLORS[i % COLORS.length]);
                    g.fillRect(left, y, len, barH);
                    if (r.id().equals("cordon")) {
                        g.setColor(Color.BLACK);
                        g.setStroke(new BasicStroke(1.5f));
                        g.drawRect(left, y, len, barH);
                    }
                    g.setColor(Color.BLACK);
                    g.drawString(Report.fmt(c.medianUs()) + " µs", left + len + 6, y + barH - 5);
                }
                y += barH + gap;
            }
            y += groupGap - 12;
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static String human(double us) {
        if (us >= 1_000_000) {
            return (long) (us / 1_000_000) + " s";
        }
        if (us >= 1000) {
            return (long) (us / 1000) + " ms";
        }
        return (us >= 1 ? String.valueOf((long) us) : String.valueOf(us)) + " µs";
    }
}
