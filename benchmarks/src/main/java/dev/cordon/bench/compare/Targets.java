package dev.cordon.bench.compare;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The targets of issue 7, each evaluated from ratios measured in the same run. */
final class Targets {

    private Targets() { }

    static List<Map<String, Object>> evaluate(List<Compare.Cell> cells, Map<String, Object> extras) {
        List<Map<String, Object>> t = new ArrayList<>();
        for (String w : new String[] {"tool", "tiny"}) {
            Double b = Compare.median(cells, "graalpy", w);
            t.add(target("policy overhead on warm calls (" + w + "): Cordon / bare GraalPy", "<= 1.05",
                    ratio(Compare.median(cells, "cordon", w), b), v -> v <= 1.05));
            t.add(target("policy overhead on warm calls (" + w + "), persistent session: Cordon / bare GraalPy", "<= 1.05",
                    ratio(Compare.median(cells, "cordon-persist", w), b), v -> v <= 1.05));
        }
        Object acq = extras.get("session_acquire");
        t.add(target("pooled session acquire: new context / pooled session", ">= 100",
                acq instanceof Map<?, ?> m ? (Double) m.get("ratio") : null, v -> v >= 100));
        for (String w : new String[] {"tool", "tiny"}) {
            t.add(target("warm Cordon call (" + w + "): bwrap+CPython per call / Cordon", ">= 50",
                    ratio(Compare.median(cells, "bwrap-cpython", w), Compare.median(cells, "cordon", w)), v -> v >= 50));
            t.add(target("warm Cordon call (" + w + "): Pyodide warm / Cordon", "> 1",
                    ratio(Compare.median(cells, "pyodide", w), Compare.median(cells, "cordon", w)), v -> v > 1));
        }
        t.add(target("hot pure-Python loop (nbody): CPython 3.11 / Cordon", ">= 3",
                ratio(Compare.median(cells, "cpython-exec", "nbody"), Compare.median(cells, "cordon", "nbody")), v -> v >= 3));
        t.add(target("warm native-worker call (tiny): python3 spawn / native worker", ">= 10",
                ratio(Compare.median(cells, "cpython-spawn", "tiny"), Compare.median(cells, "native-worker", "tiny")),
                v -> v >= 10));
        Object mem = extras.get("idle_memory");
        t.add(target("idle sessions per GiB of heap", ">= 50",
                mem instanceof Map<?, ?> m ? (Double) m.get("sessions_per_gib") : null, v -> v >= 50));
        return t;
    }

    private static Double ratio(Double num, Double den) {
        return num == null || den == null ? null : Compare.round(num / den);
    }

    private static Map<String, Object> target(String measure, String want, Double value,
            java.util.function.DoublePredicate ok) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("measure", measure);
        m.put("target", want);
        m.put("value", value);
        m.put("met", value == null ? null : ok.test(value));
        return m;
    }
}
