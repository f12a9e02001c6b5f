/**
 * The RDMA objects in the verbs vocabulary users know from {@code libibverbs}: protection domains, memory
 * regions with access flags and lkey / rkey, reliable connected queue pairs and their states, completion queues,
 * work requests and work completions with verbs status codes.
 *
 * <p>Work requests and completions are mutable and meant to be reused: a caller fills one
 * {@link io.vmrdma.api.verbs.SendWorkRequest} per post and polls into one
 * {@link io.vmrdma.api.verbs.WorkCompletion}, so posting and polling allocate nothing.
 */
@Export
@Version("0.1.0")
package io.vmrdma.api.verbs;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
