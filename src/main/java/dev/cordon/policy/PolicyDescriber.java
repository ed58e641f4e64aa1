package dev.cordon.policy;

/** The policy as text for an agent's system prompt. (Being written: see issue 6.) */
public final class PolicyDescriber {
    private PolicyDescriber() { }

    public static String describe(Policy p) {
        return "";
    }
}
