package dev.cordon.bench.compare;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The Markdown table of a comparison run. */
final class Report {

    private Report() { }

    @SuppressWarnings("unchecked")
    static String markdown(Map<String, Object> doc, List<Row> rows, List<Compare.Workload> workloads,
            List<Compare.Cell> cells, Map<String, String> notes, Map<String, String> unavailable) {
        StringBuilder b = new StringBuilder("# Cordon comparison run\n\n");
        b.append("When: ").append(doc.get("when")).append(". Machine: ").append(doc.get("machine"))
                .append(". GraalPy JIT: ").append(Boolean.TRUE.equals(doc.get("jit")) ? "on" : "off").append(".\n\n");
        b.append("Medians per call in microseconds (p10-p90 in brackets); `× Cordon` is the row's median divided by ")
                .append("Cordon's from this same run (above 1: slower than Cordon).\n\n");
        for (Compare.Workload w : workloads) {
            b.append("## ").append(w.label()).append("\n\n| runtime | median µs | p10-p90 µs | × Cordon | samples |\n")
                    .append("| --- | ---: | ---: | ---: | ---: |\n");
            Double base = Compare.median(cells, "cordon", w.id());
            for (Row r : rows) {
                Compare.Cell c = cells.stream().filter(x -> x.row().equals(r.id()) && x.workload().equals(w.id()))
                        .findFirst().orElseThrow();
                if (c.medianUs() == null) {
                    b.append("| ").append(r.label()).append(" | ").append(c.unavailable()).append(" | | | |\n");
                    continue;
                }
                b.append("| ").append(r.label()).append(" | ").append(fmt(c.medianUs())).append(" | ")
                        .append(fmt(c.p10Us())).append("-").append(fmt(c.p90Us())).append(" | ")
                        .append(base == null ? "" : String.format(Locale.ROOT, "%.2f", c.medianUs() / base)).append(" | ")
                        .append(c.samples()).append(" |\n");
            }
            b.append('\n');
        }
        b.append("## Targets (issue 7), ratios from this run\n\n| measure | target | value | met |\n| --- | --- | ---: | --- |\n");
        for (Map<String, Object> t : (List<Map<String, Object>>) doc.get("targets")) {
            Object met = t.get("met");
            b.append("| ").append(t.get("measure")).append(" | ").append(t.get("target")).append(" | ")
                    .append(t.get("value") == null ? "n/a" : t.get("value")).append(" | ")
                    .append(met == null ? "not measurable in this build" : (Boolean) met ? "yes" : "**no**").append(" |\n");
        }
        Map<String, Object> extras = (Map<String, Object>) doc.get("extras");
        if (extras != null && !extras.isEmpty()) {
            b.append("\n## Sessions\n\n");
            extras.forEach((k, v) -> b.append("- ").append(k).append(": ").append(v).append('\n'));
        }
        b.append("\n## Rows\n\n");
        for (Row r : rows) {
            b.append("- **").append(r.label()).append("** (`").append(r.id()).append("`): ");
            String why = unavailable.get(r.id());
            b.append(why != null ? "not measured: " + why : notes.getOrDefault(r.id(), "")).append('\n');
        }
        return b.toString();
    }

    static String fmt(double us) {
        return us >= 100 ? String.format(Locale.ROOT, "%,.0f", us) : String.format(Locale.ROOT, "%.1f", us);
    }
}
