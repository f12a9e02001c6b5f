package io.vmrdma.xen.jna.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class XenNativeComponentTest {

    @Test
    void autoFollowsTheHostAndTheOthersDecide() {
        assertThat(XenNativeComponent.shouldRegister("auto", true)).isTrue();
        assertThat(XenNativeComponent.shouldRegister("auto", false)).isFalse();
        assertThat(XenNativeComponent.shouldRegister("true", false)).isTrue();
        assertThat(XenNativeComponent.shouldRegister(" TRUE ", false)).isTrue();
        assertThat(XenNativeComponent.shouldRegister("false", true)).isFalse();
    }

    @Test
    void anInvalidValueIsTakenAsAuto() {
        assertThat(XenNativeComponent.shouldRegister("yes please", false)).isFalse();
        assertThat(XenNativeComponent.shouldRegister("yes please", true)).isTrue();
        assertThat(XenNativeComponent.shouldRegister(null, false)).isFalse();
    }

    @Test
    void aChangeToAnotherValueIsRefusedNamingIt() {
        NativeConfigurationCheck check = new NativeConfigurationCheck();
        assertThat(check.pid()).isEqualTo("io.vmrdma.xen.native");
        check.check(java.util.Map.of("enabled", " False "));
        check.check(java.util.Map.of());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> check.check(java.util.Map.of("enabled", "yes please")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("enabled: 'yes please' is not auto, true or false");
    }

    @Test
    void pollTimeoutsRoundUpToWholeMilliseconds() {
        assertThat(FdWaiter.millis(0)).isZero();
        assertThat(FdWaiter.millis(-5)).isZero();
        assertThat(FdWaiter.millis(1)).isEqualTo(1);
        assertThat(FdWaiter.millis(1_000_000)).isEqualTo(1);
        assertThat(FdWaiter.millis(1_000_001)).isEqualTo(2);
        assertThat(FdWaiter.millis(Long.MAX_VALUE)).isEqualTo(Integer.MAX_VALUE);
    }
}
