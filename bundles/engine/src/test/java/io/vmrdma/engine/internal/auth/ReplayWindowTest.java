package io.vmrdma.engine.internal.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReplayWindowTest {

    private static boolean take(ReplayWindow w, long counter) {
        if (!w.isFresh(counter)) {
            return false;
        }
        w.mark(counter);
        return true;
    }

    @Test
    void eachCounterOnceInAnyOrderWithinTheWindow() {
        ReplayWindow w = new ReplayWindow();
        assertThat(take(w, 0)).as("counters start at 1").isFalse();
        assertThat(take(w, 5)).isTrue();
        assertThat(take(w, 3)).as("late, not seen").isTrue();
        assertThat(take(w, 5)).as("seen").isFalse();
        assertThat(take(w, 3)).isFalse();
        assertThat(take(w, 4)).isTrue();
        assertThat(take(w, 5 + ReplayWindow.SIZE)).as("a gap").isTrue();
        assertThat(take(w, 2)).as("slid out of the window").isFalse();
        assertThat(take(w, 6)).as("at the window's far end, not seen").isTrue();
        assertThat(take(w, 5 + ReplayWindow.SIZE)).isFalse();
        assertThat(take(w, 10 * ReplayWindow.SIZE)).isTrue();
        assertThat(take(w, 10 * ReplayWindow.SIZE - 1)).as("slots reused after a long jump start clear").isTrue();
        w.reset();
        assertThat(take(w, 2)).as("a new epoch starts afresh").isTrue();
        w.startAt(500);
        assertThat(take(w, 499)).as("sent before the epoch was confirmed").isFalse();
        assertThat(take(w, 500)).isFalse();
        assertThat(take(w, 501)).isTrue();
    }
}
