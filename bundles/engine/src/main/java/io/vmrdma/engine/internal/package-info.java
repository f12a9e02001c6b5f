/** The engine's implementation; nothing here is exported. */
package io.vmrdma.engine.internal;
