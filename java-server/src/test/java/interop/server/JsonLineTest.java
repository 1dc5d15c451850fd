package interop.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** JSON lines as serde_json writes them (§8). */
class JsonLineTest {
    @Test
    void compactWithOnlyTheNeededEscapes() {
        byte[] text = "q\" b\\ n\n r\r t\t \b \f \u0001 \u007f é 🦀".getBytes(StandardCharsets.UTF_8);
        byte[] line = new JsonLine().field("event", "message").field("conn", 12)
                .utf8Field("text", text).toBytes();
        assertEquals("{\"event\":\"message\",\"conn\":12,\"text\":\"q\\\" b\\\\ n\\n r\\r t\\t \\b "
                        + "\\f \\u0001 \u007f é 🦀\"}\n",
                new String(line, StandardCharsets.UTF_8));
    }

    @Test
    void roundTripsThroughAParser() {
        String weird = "\u0000\u001f\"\\/ ü";
        byte[] line = new JsonLine().field("error", weird).field("len", 0).toBytes();
        String text = new String(line, StandardCharsets.UTF_8);
        assertEquals(Map.of("error", weird, "len", 0L), Json.parse(text.strip()));
    }
}
