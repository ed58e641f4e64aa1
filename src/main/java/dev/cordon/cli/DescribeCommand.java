package dev.cordon.cli;

import dev.cordon.policy.PolicyDescriber;
import dev.cordon.policy.PolicyException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "describe", mixinStandardHelpOptions = true,
        description = {"Prints the policy's constraints as text for an agent's system prompt.",
                "Use it as the tool description, too: where code may read and write, uploads and outputs,",
                "hosts and ports, packages, commands, and limits."})
final class DescribeCommand implements Callable<Integer> {

    @Mixin
    PolicyOptions policy;

    @Override
    public Integer call() {
        try {
            System.out.print(PolicyDescriber.describe(policy.load()));
            return ExitCodes.OK;
        } catch (PolicyException e) {
            System.err.println(e.getMessage());
            return ExitCodes.USAGE;
        }
    }
}
