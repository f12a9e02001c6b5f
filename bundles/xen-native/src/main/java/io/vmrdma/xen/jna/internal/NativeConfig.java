package io.vmrdma.xen.jna.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

@ObjectClassDefinition(name = "vmrdma Xen access: native",
        description = "Real Xen through Debian's Xen 4.17 libraries (JNA).")
@interface NativeConfig {

    @AttributeDefinition(description = "auto: register the native hypervisor only when /dev/xen exists; true: always"
            + " (without Xen every open then fails with 'not running on Xen'); false: never.",
            options = {@Option(value = "auto"), @Option(value = "true"), @Option(value = "false")})
    String enabled() default "auto";
}
