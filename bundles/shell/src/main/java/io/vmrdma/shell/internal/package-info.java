/** Console commands of scope {@code vmrdma}; nothing here is exported. */
package io.vmrdma.shell.internal;
