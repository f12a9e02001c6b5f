package io.vmrdma.shell.internal;

import java.util.Locale;

/** A one-line progress bar redrawn in place ({@code \r}) while a benchmark runs, for terminals only. */
final class ProgressBar {

    static final int WIDTH = 30;
    /** ANSI: erase to the end of the line, so a shorter line leaves nothing of a longer one behind. */
    private static final String ERASE = "\033[K";

    private ProgressBar() {
    }

    /** {@code [#########.....................]  31%  write_bw 64.0 KiB}, or the state while there is no progress. */
    static String render(String test, BenchGuests.Report report) {
        if (report.progress() == null || !"running".equals(report.state())) {
            return "\r" + test + ": " + (report.state() == null ? "booting the guests" : report.state()) + " ..."
                    + ERASE;
        }
        int permille = Math.max(0, Math.min(1000, parse(report.progress())));
        int filled = permille * WIDTH / 1000;
        String size = report.bytes() == null ? "" : " " + Units.bytes(parse(report.bytes()));
        return "\r[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] "
                + String.format(Locale.ROOT, "%3d%%", permille / 10) + "  " + test + size + ERASE;
    }

    /** Takes the bar off the line before the table prints. */
    static String clear() {
        return "\r" + ERASE;
    }

    private static int parse(String number) {
        try {
            return Integer.parseInt(number.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
