package dev.cordon.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * The stdin the MCP SDK reads: only lines that are JSON-RPC messages get through. The SDK's stdio
 * transport stops reading, and so ends the MCP session for good, at the first line it cannot
 * deserialize or at a line over its size bound; one stray line from a client would leave a server
 * that neither answers nor exits. Here such a line gets a JSON-RPC error response (parse error or
 * invalid request, as JSON-RPC 2.0 specifies) and the next line is read as usual.
 *
 * <p>Also the server's end-of-input signal: the SDK offers no "closed" event, and end of input is
 * how an MCP client shuts a stdio server down.
 */
final class LineGuard extends InputStream {

    /** Bound on one message: tool code, not a bulk channel (as {@code serve}). Longer lines are refused unread. */
    static final int MAX_LINE_BYTES = 16 * 1024 * 1024;

    private static final ObjectMapper PLAIN = new ObjectMapper();

    private final InputStream in;
    private final OutputStream out;
    private final McpJsonMapper mapper;
    private final PrintStream log;
    private final CountDownLatch eof = new CountDownLatch(1);
    private final byte[] buf = new byte[64 * 1024];
    private int bufPos;
    private int bufLen;
    private byte[] line = new byte[0];
    private int linePos;

    /**
     * @param out where error responses go: the protocol stream, written under its own monitor as the
     *            SDK's transport does, so an error line never interleaves with a response
     */
    LineGuard(InputStream in, OutputStream out, McpJsonMapper mapper, PrintStream log) {
        this.in = in;
        this.out = out;
        this.mapper = mapper;
        this.log = log;
    }

    void awaitEof() throws InterruptedException {
        eof.await();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (linePos == line.length) {
            if (!nextValidLine()) {
                eof.countDown();
                return -1;
            }
        }
        int n = Math.min(len, line.length - linePos);
        System.arraycopy(line, linePos, b, off, n);
        linePos += n;
        return n;
    }

    @Override
    public void close() throws IOException {
        eof.countDown();
        in.close();
    }

    /** Reads lines until one is a JSON-RPC message (kept, with its newline) or input ends (false). */
    private boolean nextValidLine() throws IOException {
        while (true) {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            boolean tooLong = false;
            boolean any = false;
            boolean ended = false;
            while (true) {
                if (bufPos == bufLen) {
                    try {
                        bufLen = in.read(buf);
                    } catch (IOException e) {
                        bufLen = -1; // the client is gone either way
                    }
                    bufPos = 0;
                    if (bufLen <= 0) {
                        bufLen = 0;
                        ended = true;
                        break;
                    }
                }
                any = true;
                int start = bufPos;
                while (bufPos < bufLen && buf[bufPos] != '\n') {
                    bufPos++;
                }
                int n = bufPos - start;
                if (!tooLong) {
                    if (raw.size() + n > MAX_LINE_BYTES) {
                        tooLong = true;
                        raw = new ByteArrayOutputStream();
                    } else {
                        raw.write(buf, start, n);
                    }
                }
                if (bufPos < bufLen) {
                    bufPos++; // the newline
                    break;
                }
            }
            if (!any && ended) {
                return false;
            }
            if (tooLong) {
                reject(null, McpSchema.ErrorCodes.INVALID_REQUEST, "message longer than " + MAX_LINE_BYTES + " bytes; refused");
            } else {
                String text = raw.toString(StandardCharsets.UTF_8);
                if (!text.isBlank() && accept(text)) {
                    line = (text + "\n").getBytes(StandardCharsets.UTF_8);
                    linePos = 0;
                    return true;
                }
            }
            if (ended) {
                return false;
            }
        }
    }

    private boolean accept(String text) {
        JsonNode tree;
        try {
            tree = PLAIN.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            reject(null, McpSchema.ErrorCodes.PARSE_ERROR, "not JSON: " + e.getOriginalMessage());
            return false;
        }
        JsonNode id = tree != null && tree.isObject() ? tree.get("id") : null;
        try {
            McpSchema.deserializeJsonRpcMessage(mapper, text);
            return true;
        } catch (IOException | RuntimeException e) {
            reject(id, McpSchema.ErrorCodes.INVALID_REQUEST, "not a JSON-RPC 2.0 message: " + e.getMessage());
            return false;
        }
    }

    private void reject(JsonNode id, int code, String message) {
        if (log != null) {
            log.println("cordon: mcp: refused an input line: " + message);
        }
        ObjectNode resp = PLAIN.createObjectNode();
        resp.put("jsonrpc", "2.0");
        if (id == null || !(id.isTextual() || id.isNumber())) {
            resp.putNull("id");
        } else {
            resp.set("id", id);
        }
        ObjectNode err = resp.putObject("error");
        err.put("code", code);
        err.put("message", message.length() > 500 ? message.substring(0, 500) + "..." : message);
        try {
            byte[] bytes = (PLAIN.writeValueAsString(resp) + "\n").getBytes(StandardCharsets.UTF_8);
            synchronized (out) {
                out.write(bytes);
                out.flush();
            }
        } catch (IOException e) {
            // The client stopped reading: nothing to tell it.
        }
    }
}
