// What the OTel Java SDK records as exception.stacktrace: Throwable.printStackTrace into a string (causes,
// suppressed exceptions and "... N more" as the JVM prints them).
package com.example.shop;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

public class Shop {
    static class PaymentDeclined extends RuntimeException {
        PaymentDeclined(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static int parseAmount(String raw) {
        return Integer.parseInt(raw); // FRAME:java_parse
    }

    static class Gateway implements AutoCloseable {
        int charge(String raw) {
            try {
                return parseAmount(raw); // FRAME:java_charge_parse
            } catch (NumberFormatException e) {
                throw new PaymentDeclined("amount rejected: " + raw, e); // FRAME:java_charge_throw
            }
        }

        @Override
        public void close() {
            throw new IllegalStateException("gateway connection already closed"); // FRAME:java_close
        }
    }

    static int checkout(List<String> amounts) {
        try (Gateway g = new Gateway()) { // FRAME:java_checkout_close
            return amounts.stream().mapToInt(g::charge).sum(); // FRAME:java_checkout_stream
        }
    }

    public static void main(String[] args) {
        try {
            checkout(List.of("12", "x1")); // FRAME:java_main
        } catch (RuntimeException e) {
            StringWriter out = new StringWriter();
            e.printStackTrace(new PrintWriter(out));
            System.out.print(out);
        }
    }
}
