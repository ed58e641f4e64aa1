package dev.cordon.cli;

import dev.cordon.policy.PolicyException;
import dev.cordon.policy.Presets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Writes a starter policy from a preset (the starter pack in polyglot-policies/).",
                "Presets: default, data-analysis, web-research, code-generation, document-processing.",
                "Each file starts with a header saying what it allows and why; edit it, then check it with `cordon policy check`."})
final class InitCommand implements Callable<Integer> {

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "default",
            description = "Preset to start from (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", defaultValue = "openclaw.exec.yaml",
            description = "Where to write it (default: ${DEFAULT-VALUE}); - for stdout.")
    String out;

    @Option(names = "--force", description = "Overwrite FILE if it exists.")
    boolean force;

    @Override
    public Integer call() throws IOException {
        String text;
        try {
            text = Presets.text(preset);
        } catch (PolicyException e) {
            System.err.println("cordon: " + e.getMessage() + " (presets: " + String.join(", ", Presets.names()) + ")");
            return ExitCodes.USAGE;
        }
        if ("-".equals(out)) {
            System.out.print(text);
            return ExitCodes.OK;
        }
        Path file = Path.of(out);
        if (Files.exists(file) && !force) {
            System.err.println("cordon: " + file + " exists; use --force to overwrite it");
            return ExitCodes.USAGE;
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
        System.err.println("cordon: wrote the " + preset + " preset to " + file + "; check it with: cordon policy check " + file);
        return ExitCodes.OK;
    }
}
