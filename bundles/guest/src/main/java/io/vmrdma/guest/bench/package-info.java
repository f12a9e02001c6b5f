/**
 * The one benchmark core every vmrdma benchmark front end uses (the guest tool, {@code vmrdma:bench},
 * {@code ./bench.sh}): perftest's tests {@code ib_write_bw}, {@code ib_write_lat}, {@code ib_read_bw} and
 * {@code ib_send_lat} between two guests' {@link io.vmrdma.guest.GuestDevice}s, with perftest's output columns and
 * a JSON form.
 */
@Export
@Version("0.3.0")
package io.vmrdma.guest.bench;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
