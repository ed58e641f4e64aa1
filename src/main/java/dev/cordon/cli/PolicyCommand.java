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
                    "loosens something, the knobs it sets that Cordon does not enforce yet, and whether each",
                    "preinstalled package imports in the tier that will run it.",
                    "Exit 0 when the policy is valid; 2 with file:line:column errors when it is not, or when a",
                    "preinstalled package is missing (the error names the Debian package to install)."})
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
            // Preinstalled packages must be importable in the tier that will run the policy.
            dev.cordon.packages.PackageCheck.Report packages = dev.cordon.packages.PackageCheck.check(p);
            System.out.print(packages.text());
            if (!packages.ok()) {
                System.err.println("# " + file + ": packages.python.preinstalled: " + String.join("; ", packages.errors()));
                return ExitCodes.USAGE;
            }
            return ExitCodes.OK;
        }
    }
}
