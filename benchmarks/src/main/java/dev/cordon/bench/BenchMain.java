package dev.cordon.bench;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the JMH suite with the JVM flags the product uses: Cordon's agent, and the optimizing
 * runtime when the Graal compiler jars are present (benchmarks/run passes their directory in
 * {@code cordon.jit.dir}); JSON results go to {@code cordon.bench.out} (default target/jmh.json).
 * Arguments are JMH's own (e.g. a benchmark regex, -f, -wi).
 */
public final class BenchMain {
    public static void main(String[] args) throws Exception {
        List<String> jvm = new ArrayList<>(List.of("-Xss8m", "-Xmx4g", "-XX:+UseParallelGC"));
        String agent = System.getProperty("cordon.agent");
        if (agent != null) {
            jvm.add("-javaagent:" + agent);
        }
        String jit = System.getProperty("cordon.jit.dir");
        if (jit != null && Files.isDirectory(Path.of(jit)) && !"0".equals(System.getenv("CORDON_JIT"))) {
            jvm.addAll(List.of("-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI", "--upgrade-module-path=" + jit));
        }
        String out = System.getProperty("cordon.bench.out", "target" + File.separator + "jmh.json");
        ChainedOptionsBuilder b = new OptionsBuilder().parent(new CommandLineOptions(args))
                .jvmArgsAppend(jvm.toArray(String[]::new))
                .resultFormat(ResultFormatType.JSON).result(out);
        new Runner(b.build()).run();
    }
}
