package dev.cordon.cli;

import dev.cordon.ExecResult;

/** The CLI's exit codes, documented in README.md and in {@code cordon --help}. */
final class ExitCodes {
    static final int OK = 0;
    static final int GUEST_ERROR = 1;
    static final int USAGE = 2;
    static final int LIMIT = 3;

    private ExitCodes() { }

    static int of(ExecResult r) {
        return switch (r.status()) {
            case OK -> OK;
            case ERROR -> GUEST_ERROR;
            case LIMIT -> LIMIT;
        };
    }
}
