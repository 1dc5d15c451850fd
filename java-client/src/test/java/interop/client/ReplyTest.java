package interop.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReplyTest {

    private static Reply parse(String text) throws ClientException {
        return Reply.parse(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void parsesTheAcksOfTheTestVectors() throws ClientException {
        Reply reply = parse("ACK 1 21 30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807");
        assertEquals(Reply.Ack.expected(1, Message.ofText("Hello SocketServer!!!")), reply);
        assertEquals(Reply.Ack.expected(1, Message.ofText("abc")),
                parse("ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assertEquals(Reply.Ack.expected(7, Message.ofText("")),
                parse("ACK 7 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    @Test
    void parsesErr() throws ClientException {
        assertEquals(new Reply.Err("too-large", "4294967295 > 16777216"),
                parse("ERR too-large 4294967295 > 16777216"));
        assertEquals(new Reply.Err("x", ""), parse("ERR x"));
    }

    @Test
    void errRepliesAreReportedAsReceivedAfterAPhraseForTheirCode() throws ClientException {
        assertEquals("server is busy: ERR busy 2 connections open",
                FramedTransfer.rejected(3, (Reply.Err) parse("ERR busy 2 connections open"))
                        .getMessage());
        assertEquals("server is busy: ERR busy",
                FramedTransfer.rejected(3, (Reply.Err) parse("ERR busy")).getMessage());
        assertEquals("server could not log message 3: ERR output writing output: full",
                FramedTransfer.rejected(3, (Reply.Err) parse("ERR output writing output: full"))
                        .getMessage());
        ClientException other = FramedTransfer.rejected(3,
                (Reply.Err) parse("ERR too-large \"5\" > \\4"));
        assertEquals("server rejected message 3: ERR too-large \"5\" > \\4", other.getMessage());
        assertEquals(ExitCode.PROTOCOL, other.exitCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "ACK", "ACK 1 3", "ack 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ACK  1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ACK 1 3 BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ",
        "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "ACK -1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ACK 99999999999999999999 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ERR", "ERR ", "OK \u00ff"})
    void rejectsMalformedReplies(String text) {
        ClientException e = assertThrows(ClientException.class, () -> parse(text));
        assertEquals(ExitCode.PROTOCOL, e.exitCode());
    }
}
