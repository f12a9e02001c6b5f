package io.vmrdma.engine.internal.verbs;

import static io.vmrdma.engine.internal.verbs.ConnectionState.ACCEPTED;
import static io.vmrdma.engine.internal.verbs.ConnectionState.CLOSED;
import static io.vmrdma.engine.internal.verbs.ConnectionState.ESTABLISHED;
import static io.vmrdma.engine.internal.verbs.ConnectionState.REQUESTED;
import static io.vmrdma.engine.internal.verbs.ConnectionState.REQUEST_RECEIVED;
import static io.vmrdma.engine.internal.verbs.ConnectionState.REQUEST_SENT;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumMap;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.engine.internal.status.Counters;
import io.vmrdma.engine.internal.verbs.ConnectionState.Event;
import org.junit.jupiter.api.Test;

/** The connection manager's state machine: every (state, event) pair, and what a refused event leaves behind. */
class ConnectionStateTest {

    /** The legal moves, written out as the protocol has them; every pair not listed must be refused. */
    private static final Map<ConnectionState, Map<Event, ConnectionState>> LEGAL = new EnumMap<>(Map.of(
            REQUESTED, Map.of(Event.ACCEPT, ESTABLISHED, Event.CLOSE, CLOSED),
            REQUEST_SENT, Map.of(Event.REPLY, ESTABLISHED, Event.CLOSE, CLOSED),
            REQUEST_RECEIVED, Map.of(Event.ACCEPT, ACCEPTED, Event.CLOSE, CLOSED),
            ACCEPTED, Map.of(Event.REPEATS_OVER, ESTABLISHED, Event.CLOSE, CLOSED),
            ESTABLISHED, Map.of(Event.CLOSE, CLOSED),
            CLOSED, Map.of()));

    private final Counters counters = new Counters();
    private final Listener listener = new Listener(null, 18515);

    @Test
    void everyStateAndEventPairIsLegalOnlyAsTheProtocolSays() {
        int legal = 0;
        for (ConnectionState state : ConnectionState.values()) {
            for (Event event : Event.values()) {
                ConnectionState expected = LEGAL.get(state).get(event);
                assertThat(state.after(event)).as("%s after %s", state, event).isEqualTo(expected);
                legal += expected == null ? 0 : 1;
            }
        }
        assertThat(legal).isEqualTo(9);
    }

    @Test
    void onlyUnansweredRequestsAreRequestsAndOnlyAcceptedOrEstablishedAreUp() {
        for (ConnectionState state : ConnectionState.values()) {
            assertThat(state.isRequest()).as("%s is a request", state)
                    .isEqualTo(state == REQUESTED || state == REQUEST_SENT || state == REQUEST_RECEIVED);
            assertThat(state.isUp()).as("%s is up", state).isEqualTo(state == ACCEPTED || state == ESTABLISHED);
        }
    }

    @Test
    void aRequestWithinTheNodeIsEstablishedByTheAcceptItself() {
        Connection c = Connection.requested(7, null, listener, 0x7fff, 0, counters);
        assertThat(c.state()).isEqualTo(REQUESTED);
        assertThat(c.replied(0x7fff)).as("no reply comes from this node's own listener").isFalse();
        assertThat(c.accept(null, new Connection.Reply(1, new byte[0]))).isTrue();
        assertThat(c.state()).isEqualTo(ESTABLISHED);
        assertThat(c.reply()).as("nobody repeats a request within the node").isNull();
        assertThat(counters.get(Counter.INTERNAL_ERRORS)).isEqualTo(1);
    }

    @Test
    void aRequestSentIsEstablishedByTheReplyInThePartitionTheListenerChose() {
        Connection c = Connection.requestSent(8, null, 18515, new Connection.Sent(2, new int[] {1, 2}, new byte[0],
                new byte[0], 99), 0, counters);
        assertThat(c.pkey()).isEqualTo(-1);
        assertThat(c.accept(null, null)).as("the listener is on the other node").isFalse();
        assertThat(c.replied(2)).isTrue();
        assertThat(c.state()).isEqualTo(ESTABLISHED);
        assertThat(c.pkey()).isEqualTo(2);
        assertThat(c.replied(1)).as("a second reply changes nothing").isFalse();
        assertThat(c.pkey()).isEqualTo(2);
        assertThat(counters.get(Counter.INTERNAL_ERRORS)).isEqualTo(2);
    }

    @Test
    void aRequestReceivedAnswersRepeatsUntilTheyAreOver() {
        Connection c = received();
        assertThat(c.reply()).isNull();
        Connection.Reply reply = new Connection.Reply(5, new byte[] {1});
        assertThat(c.accept(null, reply)).isTrue();
        assertThat(c.state()).isEqualTo(ACCEPTED);
        assertThat(c.reply()).isSameAs(reply);
        assertThat(c.accept(null, reply)).as("accepted once only").isFalse();
        assertThat(c.repeatsOver()).isTrue();
        assertThat(c.state()).isEqualTo(ESTABLISHED);
        assertThat(counters.get(Counter.INTERNAL_ERRORS)).isEqualTo(1);
    }

    @Test
    void aClosedConnectionRefusesEverythingAndCountsEachRefusal() {
        Connection c = received();
        assertThat(c.close()).isTrue();
        assertThat(c.close()).isFalse();
        assertThat(c.accept(null, null)).isFalse();
        assertThat(c.replied(1)).isFalse();
        assertThat(c.repeatsOver()).isFalse();
        assertThat(c.state()).isEqualTo(CLOSED);
        assertThat(counters.get(Counter.INTERNAL_ERRORS)).isEqualTo(4);
    }

    @Test
    void repeatsAreDueOnePeriodAfterEachSend() {
        Connection c = Connection.requestSent(8, null, 18515, new Connection.Sent(2, new int[] {1}, new byte[0],
                new byte[0], 99), 0, counters);
        assertThat(c.repeatDue(0)).isTrue();
        c.repeatEvery(1_000, 100);
        assertThat(c.repeatDue(1_099)).isFalse();
        assertThat(c.repeatDue(1_100)).isTrue();
    }

    private Connection received() {
        return Connection.requestReceived(9, listener, 0x7fff,
                new Connection.Received(2, 1234, new QpAddress(2, 5, 77), "client", 42), 0, counters);
    }
}
