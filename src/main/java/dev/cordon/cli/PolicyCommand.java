package dev.cordon.cli;

import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import dev.cordon.policy.PolicyReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Works with policy files.",
        subcommands = {PolicyCommand.Check.class})
final class PolicyCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Validates FILE and prints the effective policy (defaults filled in), warnings where it",
                    "loosens something, and the knobs it sets that Cordon does not enforce yet.",
                    "Exit 0 when the policy is valid; 2 with file:line:column errors when it is not."})
    static final class Check implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "The policy file (openclaw.exec.yaml schema).")
        Path file;

        @Override
        public Integer call() {
            Policy p;
            try {
                p = PolicyLoader.load(file);
            } catch (PolicyException e) {
                System.err.println(e.getMessage());
                return ExitCodes.USAGE;
            }
            System.out.println("# " + file + ": valid.");
            System.out.print(PolicyReport.of(p).text());
            return ExitCodes.OK;
        }
    }
}
