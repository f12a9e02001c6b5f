/** The demo guests' launcher; nothing here is exported. */
package io.vmrdma.demo.internal;
