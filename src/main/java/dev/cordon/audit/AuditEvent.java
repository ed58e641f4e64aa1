package dev.cordon.audit;

import dev.cordon.decision.Decision;

/**
 * One audited decision, as written to the JSON-lines stream (schema version {@link #SCHEMA}).
 */
public record AuditEvent(int schema, String id, String time, String session, String category, String operation,
        String target, String rule, String reason, String fix) {

    public static final int SCHEMA = 1;

    static AuditEvent of(String id, String time, String session, Decision.Deny d) {
        return new AuditEvent(SCHEMA, id, time, session, d.category().word(), d.operation(), d.target(), d.rule(),
                d.reason(), d.fix());
    }
}
