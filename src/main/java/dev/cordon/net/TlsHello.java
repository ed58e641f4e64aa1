package dev.cordon.net;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads the server name (SNI) from the first bytes a guest writes on a connection, when they are a
 * TLS ClientHello. The egress log then names the server asked for even though the body is
 * ciphertext. Best effort: any malformed or split hello gives null.
 */
final class TlsHello {

    private TlsHello() { }

    static String serverName(ByteBuffer b, int start, int n) {
        try {
            int end = start + n;
            int p = start;
            if (u8(b, p) != 0x16) {
                return null;
            }
            int recordEnd = Math.min(end, p + 5 + u16(b, p + 3));
            p += 5;
            if (u8(b, p) != 0x01) {
                return null;
            }
            p += 4;          // handshake type + length
            p += 2 + 32;     // client_version + random
            p += 1 + u8(b, p);      // session id
            p += 2 + u16(b, p);     // cipher suites
            p += 1 + u8(b, p);      // compression methods
            if (p + 2 > recordEnd) {
                return null;
            }
            int extEnd = Math.min(recordEnd, p + 2 + u16(b, p));
            p += 2;
            while (p + 4 <= extEnd) {
                int type = u16(b, p);
                int len = u16(b, p + 2);
                p += 4;
                if (type == 0 && p + 5 <= extEnd) {
                    int q = p + 2;  // server_name_list length
                    if (u8(b, q) == 0) {
                        int nameLen = u16(b, q + 1);
                        if (q + 3 + nameLen <= extEnd && nameLen > 0 && nameLen <= 255) {
                            byte[] name = new byte[nameLen];
                            for (int i = 0; i < nameLen; i++) {
                                name[i] = b.get(q + 3 + i);
                            }
                            return new String(name, StandardCharsets.US_ASCII);
                        }
                    }
                    return null;
                }
                p += len;
            }
        } catch (IndexOutOfBoundsException e) {
            return null;
        }
        return null;
    }

    private static int u8(ByteBuffer b, int i) {
        return b.get(i) & 0xff;
    }

    private static int u16(ByteBuffer b, int i) {
        return (u8(b, i) << 8) | u8(b, i + 1);
    }
}
