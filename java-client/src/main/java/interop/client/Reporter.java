package interop.client;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/** Writes one stdout entry per delivered message (§6), flushed at once. */
public sealed interface Reporter permits Reporter.Text, Reporter.Json {

    void delivered(Delivery delivery) throws IOException;

    static Reporter create(OutputFormat format, OutputStream out) {
        return switch (format) {
            case TEXT -> new Text(out);
            case JSON -> new Json(out);
        };
    }

    /** {@code --format text}: the message as printed in §4. */
    record Text(OutputStream out) implements Reporter {
        public Text {
            Objects.requireNonNull(out);
        }

        @Override
        public void delivered(Delivery delivery) throws IOException {
            out.write(Printer.render(delivery.message().bytes()));
            out.flush();
        }
    }

    /** {@code --format json}: one JSON object per line (§8.2). */
    record Json(OutputStream out) implements Reporter {
        public Json {
            Objects.requireNonNull(out);
        }

        @Override
        public void delivered(Delivery delivery) throws IOException {
            out.write((line(delivery) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** The JSON object for {@code delivery}, without newline. */
        public static String line(Delivery delivery) {
            return new JsonWriter()
                    .field("seq", delivery.seq())
                    .field("local", delivery.local())
                    .field("peer", delivery.peer())
                    .field("mode", delivery.mode().wireName())
                    .field("len", delivery.message().length())
                    .field("sha256", delivery.message().sha256())
                    .field("ack", delivery.verified() ? "verified" : "none")
                    .field("transport", delivery.transport().wireName())
                    .toString();
        }
    }
}
