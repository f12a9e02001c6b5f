package io.vmrdma.api;

/**
 * One vmrdma device of a domain: the verbs context of one guest process (a VM runs any number).
 *
 * @param devid   the device number under the domain's {@code device/vmrdma}
 * @param process the guest process using it as its frontend tells it, or -1 when it tells none
 */
public record DeviceInfo(int devid, long process) {
}
