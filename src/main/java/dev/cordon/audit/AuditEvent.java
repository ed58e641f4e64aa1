package dev.cordon.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.cordon.decision.Decision;

/**
 * One line of the JSON-lines audit stream ({@code logging.audit_file}, or the sandbox's
 * {@code auditJsonl}), schema version {@value #SCHEMA}. Documented in {@code docs/audit.md}; fields
 * are only ever added within a schema version, and a consumer should ignore fields it does not know.
 *
 * @param schema    always {@value #SCHEMA}
 * @param event     {@code deny} (one enforced denial) or {@code suppressed} (denials of a call beyond
 *                  the per-call bound, counted in {@code count}, not written one by one)
 * @param id        unique per JVM run and time-ordered: {@code d<epoch-ms base 36>-<sequence>}
 * @param time      ISO-8601 UTC instant, millisecond precision or better
 * @param session   the session name
 * @param category  {@code network}, {@code filesystem}, {@code subprocess}, {@code package},
 *                  {@code resource} or {@code host} (deny only)
 * @param operation e.g. {@code connect}, {@code write}, {@code exec} (deny only)
 * @param target    what was denied, e.g. {@code 93.184.216.34:80 (example.com)}, {@code /etc/hosts},
 *                  {@code wget}; as the guest gave it, never escaped (JSON is) (deny only)
 * @param rule      the policy path that denied it, e.g. {@code network.restricted}; {@code default}
 *                  when no rule matched (deny only)
 * @param reason    one sentence: why (deny only)
 * @param fix       the YAML or step that would allow it (deny only)
 * @param count     how many denials were not written (suppressed only)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AuditEvent(int schema, String event, String id, String time, String session, String category,
        String operation, String target, String rule, String reason, String fix, Integer count) {

    public static final int SCHEMA = 1;

    static AuditEvent of(String id, String time, String session, Decision.Deny d) {
        return new AuditEvent(SCHEMA, "deny", id, time, session, d.category().word(), d.operation(), d.target(),
                d.rule(), d.reason(), d.fix(), null);
    }

    static AuditEvent suppressed(String id, String time, String session, int count) {
        return new AuditEvent(SCHEMA, "suppressed", id, time, session, null, null, null, null,
                "more denials in one call than the audit writes one by one (" + Audit.MAX_WRITTEN_PER_CALL + ")",
                null, count);
    }
}
