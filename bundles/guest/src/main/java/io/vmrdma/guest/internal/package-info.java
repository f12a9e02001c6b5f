/** The guest tool: the program a simulated guest process runs (a demo, or the benchmark core). Not exported. */
package io.vmrdma.guest.internal;
