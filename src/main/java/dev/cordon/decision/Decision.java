package dev.cordon.decision;

import java.util.Objects;

/**
 * The answer of the policy to one request: a value, never an exception. Gates translate a
 * {@link Deny} into the guest's {@code PermissionError} and into an audit event; nothing else
 * decides.
 */
public sealed interface Decision permits Decision.Allow, Decision.Deny {

    /** The rule path that allowed it (e.g. {@code network.allowlist[0]}). */
    String rule();

    static Allow allow(String rule) {
        return new Allow(rule);
    }

    record Allow(String rule) implements Decision {
        public Allow {
            Objects.requireNonNull(rule, "rule");
        }
    }

    /**
     * A denial with everything a user needs to act on it.
     *
     * @param category  what kind of effect: the key of the guide's log line
     * @param operation e.g. {@code connect}, {@code write}, {@code exec}
     * @param target    e.g. {@code 93.184.216.34:80 (example.com)}, {@code /etc/hosts}, {@code wget}
     * @param rule      the policy path that denied it, e.g. {@code network.restricted},
     *                  {@code filesystem.workspace_only}, {@code subprocess.allowed_commands};
     *                  {@code default} when no rule matched
     * @param reason    one sentence: why
     * @param fix       the YAML (or other step) that would allow it; never null, may say that
     *                  nothing in the policy can allow it
     */
    record Deny(Category category, String operation, String target, String rule, String reason, String fix)
            implements Decision {
        public Deny {
            Objects.requireNonNull(category, "category");
            Objects.requireNonNull(operation, "operation");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(rule, "rule");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(fix, "fix");
        }

        /** The message the guest sees: operation, target, rule and the fix, on one line. */
        public String message() {
            return "Cordon blocked " + category.word() + " " + operation + " " + target + ": " + reason
                    + " (policy rule " + rule + "). To allow it: " + fix;
        }

        /** The guide's log line, e.g. {@code [BLOCKED] syscall=connect dest=1.2.3.4:80 policy=network.restricted}. */
        public String blockedLine() {
            return "[BLOCKED] " + switch (category) {
                case NETWORK -> "syscall=" + operation + " dest=" + target;
                case SUBPROCESS -> "subprocess=" + target;
                case FILESYSTEM -> "filesystem=" + operation + " path=" + target;
                case PACKAGES -> "package=" + target + " op=" + operation;
                case RESOURCES -> "limit=" + operation + " target=" + target;
                case HOST -> "host=" + operation + " target=" + target;
            } + " policy=" + rule;
        }
    }

    /** Effect categories, in the order the guide lists them. */
    enum Category {
        NETWORK("network"), FILESYSTEM("filesystem"), SUBPROCESS("subprocess"), PACKAGES("package"),
        RESOURCES("resource"), HOST("host");

        private final String word;

        Category(String word) { this.word = word; }

        public String word() { return word; }
    }
}
