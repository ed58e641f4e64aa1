package dev.cordon.nativetier;

import dev.cordon.decision.DenialSink;
import java.util.List;

/**
 * Serves the pip commands guest code starts, on the host, instead of running pip in the sandbox
 * (Cordon's installer in {@code dev.cordon.packages} implements it). The native worker hands every
 * {@code pip ...} / {@code python -m pip ...} command to it; what it answers is what the guest's
 * process printed and returned.
 */
public interface PipService {

    /** What the pip "process" wrote and its exit status. */
    record Result(int exitCode, String stdout, String stderr) { }

    /** The guest path of the session's site directory, where installed packages go (on {@code sys.path}). */
    String siteDirectory();

    /** Whether {@code argv} (as guest code gave it) is a pip command this service answers. */
    boolean handles(List<String> argv);

    /**
     * Runs the pip command.
     *
     * @param argv the command as guest code gave it
     * @param cwd  the guest working directory (a guest path), for relative {@code -r} files
     * @param sink where denials go (the current call's blocked list and the audit)
     * @return null when {@code argv} is not a pip command
     */
    Result run(List<String> argv, String cwd, DenialSink sink);
}
