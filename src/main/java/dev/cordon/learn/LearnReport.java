package dev.cordon.learn;

import dev.cordon.ExecResult;
import dev.cordon.policy.Policy;
import java.util.List;

/**
 * What {@code cordon learn} found.
 *
 * @param yaml       the additions as a YAML fragment to merge into the policy file, every addition
 *                   with a {@code # review:} comment; the refusals as comments at the end. Empty
 *                   additions when the script needs nothing more.
 * @param additions  one line per addition (rule path and what), for programs and summaries
 * @param refusals   what the script did that no policy key allows (or learn would not try), each
 *                   {@code what (rule): reason. fix}
 * @param proposed   the user's policy with the additions (never written anywhere by learn)
 * @param runs       how many times the script ran
 * @param verified   the last run used exactly {@code proposed} and nothing was blocked, no limit hit
 * @param last       the last run's result
 */
public record LearnReport(String yaml, List<String> additions, List<String> refusals, Policy proposed, int runs,
        boolean verified, ExecResult last) {

    public LearnReport {
        additions = List.copyOf(additions);
        refusals = List.copyOf(refusals);
    }
}
