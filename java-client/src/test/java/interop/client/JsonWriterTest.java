package interop.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class JsonWriterTest {

    @Test
    void escapesQuotesBackslashesAndControlCharacters() {
        assertEquals("\"a\\\"b\\\\c\"", JsonWriter.quote("a\"b\\c"));
        assertEquals("\"\\n\\r\\t\\b\\f\\u0000\\u001f\\u007f\"",
                JsonWriter.quote("\n\r\t\b\f\u0000\u001f\u007f"));
        assertEquals("\"/ ~\"", JsonWriter.quote("/ ~"));
    }

    @Test
    void escapesNonAsciiIncludingSurrogatePairs() {
        assertEquals("\"caf\\u00e9 \\u4e16 \\ud83d\\ude00 \\u2028\"",
                JsonWriter.quote("café 世 😀 \u2028"));
    }

    @Test
    void writesFlatObjects() {
        assertEquals("{\"seq\":1,\"peer\":\"[::1]:8099\",\"ok\":true,\"len\":-5}",
                new JsonWriter().field("seq", 1).field("peer", "[::1]:8099")
                        .field("ok", true).field("len", -5).toString());
        assertEquals("{}", new JsonWriter().toString());
    }

    @Test
    void clientLineHasTheKeysOfSection82() {
        Message hello = Message.ofText("Hello SocketServer!!!");
        Delivery delivery = new Delivery(1, "127.0.0.1:51234", "127.0.0.1:40123", Mode.RAW,
                hello, false);
        assertEquals("{\"seq\":1,\"local\":\"127.0.0.1:51234\",\"peer\":\"127.0.0.1:40123\","
                + "\"mode\":\"raw\",\"len\":21,\"sha256\":"
                + "\"30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807\","
                + "\"ack\":\"none\",\"transport\":\"tcp\"}", Reporter.Json.line(delivery));
    }
}
