package io.vmrdma.nic.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Control messages as the kernel might write them, and as it never should: read without trusting a length. */
class ControlMessagesTest {

    private static final int ROOM = ControlMessages.RECEIVE_SPACE;
    private final ByteBuffer area = ByteBuffer.allocateDirect(ROOM + 64).order(ByteOrder.nativeOrder());

    /** Writes a cmsghdr at {@code at} with an int of data; returns where the next one goes. */
    private int message(int at, long length, int level, int type, int value) {
        area.putLong(at, length).putInt(at + 8, level).putInt(at + 12, type).putInt(at + 16, value);
        return at + (int) ((length + 7) & ~7L);
    }

    private int gro(int length) {
        return ControlMessages.groSegmentSize(area, 0, length);
    }

    @Test
    void theGroSegmentSizeIsFoundAloneOrAfterAnotherMessage() {
        message(0, 20, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, 8972);
        assertThat(gro(24)).isEqualTo(8972);
        int next = message(0, 28, 0, 29 /* IP_PKTINFO */, 7);
        message(next, 20, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, 1472);
        assertThat(gro(next + 24)).isEqualTo(1472);
    }

    @Test
    void noControlMessageOrOnlyOthersMeansTheDatagramCameAlone() {
        assertThat(gro(0)).isZero();
        message(0, 20, UdpConstants.SOL_UDP, 1 /* UDP_CORK */, 1);
        assertThat(gro(24)).isZero();
        assertThat(gro(ControlMessages.HEADER - 1)).as("too short for a header").isZero();
    }

    @Test
    void lengthsThatDoNotFitOrSegmentSizesOutOfRangeAreMalformed() {
        message(0, 8, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, 8972);
        assertThat(gro(24)).as("shorter than its own header").isEqualTo(ControlMessages.MALFORMED);
        message(0, 200, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, 8972);
        assertThat(gro(24)).as("past the end").isEqualTo(ControlMessages.MALFORMED);
        message(0, -1, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, 8972);
        assertThat(gro(24)).as("a length of 2^64 - 1").isEqualTo(ControlMessages.MALFORMED);
        message(0, 18, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, 8972);
        assertThat(gro(24)).as("too short for its int").isEqualTo(ControlMessages.MALFORMED);
        for (int bad : new int[] {0, -5, 65536, Integer.MIN_VALUE}) {
            message(0, 20, UdpConstants.SOL_UDP, UdpConstants.UDP_GRO, bad);
            assertThat(gro(24)).as("segment size %d", bad).isEqualTo(ControlMessages.MALFORMED);
        }
    }

    @Test
    void randomBytesNeverReadPastTheRoomNorLoopForever() {
        Random random = new Random(41);
        byte[] noise = new byte[ROOM];
        for (int i = 0; i < 100_000; i++) {
            random.nextBytes(noise);
            area.put(0, noise);
            if (random.nextBoolean()) {
                // A plausible length so that the walk gets past the first header often.
                area.putLong(0, 16 + random.nextInt(48));
            }
            int segment = gro(random.nextInt(ROOM + 1));
            assertThat(segment == ControlMessages.MALFORMED || segment >= 0 && segment <= 0xFFFF).isTrue();
        }
    }

    @Test
    void aSegmentSizeIsWrittenAsTheKernelReadsIt() {
        ControlMessages.writeSegmentSize(area, 8, 8972);
        assertThat(area.getLong(8)).isEqualTo(18);
        assertThat(area.getInt(16)).isEqualTo(UdpConstants.SOL_UDP);
        assertThat(area.getInt(20)).isEqualTo(UdpConstants.UDP_SEGMENT);
        assertThat(area.getShort(24) & 0xFFFF).isEqualTo(8972);
    }

    @Test
    void aReceivedMessageWhoseControlMessagesWereCutShortHasNoTrustedSegmentSize() {
        ReceiveBatch batch = new ReceiveBatch(2, 128, Endpoints.SOCKADDR_IN_SIZE);
        ByteBuffer headers = batch.headers();
        int controls = batch.control(0);
        headers.putLong(controls, 20).putInt(controls + 8, UdpConstants.SOL_UDP)
                .putInt(controls + 12, UdpConstants.UDP_GRO).putInt(controls + 16, 1000);
        headers.putLong(MessageHeaders.CONTROL_LENGTH, 24);
        assertThat(batch.segmentSize(0)).isEqualTo(1000);
        headers.putInt(MessageHeaders.FLAGS, UdpConstants.MSG_CTRUNC);
        assertThat(batch.segmentSize(0)).isEqualTo(ControlMessages.MALFORMED);
        headers.putInt(MessageHeaders.FLAGS, 0).putLong(MessageHeaders.CONTROL_LENGTH, -7);
        assertThat(batch.segmentSize(0)).as("a length the kernel never writes").isZero();
        headers.putLong(MessageHeaders.CONTROL_LENGTH, 1L << 40);
        assertThat(batch.segmentSize(0)).as("capped at the room").isEqualTo(1000);
    }
}
