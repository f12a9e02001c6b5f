/** Tab completion for the vmrdma commands: policy names and domain names; nothing here is exported. */
package io.vmrdma.shell.internal.completers;
