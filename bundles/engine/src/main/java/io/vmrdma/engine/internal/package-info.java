/**
 * The engine's implementation; nothing here is exported. This package holds the node component and its data agent;
 * configuration is in {@code config}, scheduling selection and settings in {@code sched}, the verbs in {@code verbs}.
 */
package io.vmrdma.engine.internal;
