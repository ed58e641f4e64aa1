package dev.cordon.cli;

import dev.cordon.learn.LearnReport;
import dev.cordon.learn.Learner;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "learn", mixinStandardHelpOptions = true,
        header = "Prints the smallest policy additions a script needs, for review.",
        description = {"Runs SCRIPT under a shadow of the policy and prints the smallest YAML",
                "additions that would let it run, each marked for review (in the spirit of",
                "audit2allow). Never edits the policy file.",
                "",
                "The script runs in a scratch copy of the workspace, first under the policy",
                "as it is. Each denial becomes the narrowest change of the knob it names",
                "(a connect to 127.0.0.1:8080 adds {cidr: \"127.0.0.1/32\", ports: [8080]}),",
                "and the script runs again with the changes so far, until a run meets",
                "nothing new. Writes outside the workspace stay denied and are listed as",
                "not allowable. The script really runs each time: effects the policy allows",
                "(a request to an allowed host) happen once per run.",
                "",
                "The additions go to stdout (a YAML fragment to merge by hand); one line",
                "per run to stderr."},
        footer = {"", "Exit codes: 0 verified (the last run used the policy plus the additions",
                "and nothing was blocked), 1 not verified (something no key allows, a limit",
                "learn would not raise, or --max-runs), 2 usage or invalid policy."})
final class LearnCommand implements Callable<Integer> {

    @Mixin
    PolicyOptions policy;

    @Option(names = {"-w", "--workspace"}, paramLabel = "DIR",
            description = "Host directory copied into each run's scratch workspace (never written).")
    Path workspace;

    @Option(names = {"-u", "--upload"}, paramLabel = "FILE",
            description = "Copy FILE into the policy's upload_dir before each run (repeatable).")
    List<Path> uploads = new ArrayList<>();

    @Option(names = "--max-runs", paramLabel = "N", defaultValue = "12",
            description = "Run the script at most N times (default ${DEFAULT-VALUE}).")
    int maxRuns;

    @Parameters(paramLabel = "SCRIPT", description = "Python file to learn from.")
    Path script;

    @Override
    public Integer call() throws IOException {
        Policy p = policy.loadOrReport(System.err);
        if (p == null) {
            return ExitCodes.USAGE;
        }
        if (!Files.isRegularFile(script) || Files.size(script) > ExecCommand.MAX_SCRIPT_BYTES) {
            System.err.println("cordon: script " + script + ": not a readable file of at most "
                    + ExecCommand.MAX_SCRIPT_BYTES + " bytes");
            return ExitCodes.USAGE;
        }
        if (workspace != null && !Files.isDirectory(workspace)) {
            System.err.println("cordon: --workspace " + workspace + ": not a directory");
            return ExitCodes.USAGE;
        }
        for (Path u : uploads) {
            if (!Files.isRegularFile(u)) {
                System.err.println("cordon: --upload " + u + ": not a readable file");
                return ExitCodes.USAGE;
            }
        }
        if (maxRuns < 1 || maxRuns > 100) {
            System.err.println("cordon: --max-runs must be 1-100");
            return ExitCodes.USAGE;
        }
        String code = Files.readString(script, StandardCharsets.UTF_8);
        LearnReport r = Learner.learn(p, code, script.getFileName().toString(),
                new Learner.Options(workspace, uploads, maxRuns, System.err));
        System.out.print(r.yaml());
        System.out.flush();
        System.err.println("cordon: learn: " + r.additions().size() + " addition(s), " + r.refusals().size()
                + " not allowable, " + (r.verified() ? "verified" : "NOT verified") + " in " + r.runs() + " run(s)");
        return r.verified() ? ExitCodes.OK : ExitCodes.GUEST_ERROR;
    }
}
