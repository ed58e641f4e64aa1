package dev.cordon.cli;

import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import dev.cordon.policy.Presets;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --policy FILE}: the policy to run under; the embedded default preset when absent. */
final class PolicyOptions {
    @Option(names = {"-p", "--policy"}, paramLabel = "FILE",
            description = "Policy file (openclaw.exec.yaml schema). Default: the embedded conservative policy "
                    + "(polyglot-policies/default.yaml).")
    Path file;

    Policy load() throws PolicyException {
        return file == null ? Presets.load("default") : PolicyLoader.load(file);
    }

    /**
     * The policy, or null after printing why it cannot be used (file:line:column, YAML path) to
     * {@code err}; the command then exits with {@link ExitCodes#USAGE}.
     */
    Policy loadOrReport(java.io.PrintStream err) {
        try {
            return load();
        } catch (PolicyException e) {
            err.println(e.getMessage());
            return null;
        }
    }
}
