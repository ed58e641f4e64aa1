package dev.cordon.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cordon.ExecResult;

/** The one JSON mapping of results, shared by {@code exec --json}, {@code serve} and integrations. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() { }

    static ObjectNode tree(ExecResult r) {
        return MAPPER.valueToTree(r);
    }

    static String line(Object o) {
        try {
            return MAPPER.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
