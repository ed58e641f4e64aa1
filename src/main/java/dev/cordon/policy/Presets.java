package dev.cordon.policy;

/** The starter-pack policies shipped in {@code polyglot-policies/}. (Being written: see issue 2.) */
public final class Presets {
    private Presets() { }

    public static Policy load(String name) throws PolicyException {
        if ("default".equals(name)) {
            return Policy.DEFAULT;
        }
        throw new PolicyException("preset " + name, 0, 0, "", "no such preset");
    }
}
