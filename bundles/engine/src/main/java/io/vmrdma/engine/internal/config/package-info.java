/**
 * The engine's own configuration ({@code etc/io.vmrdma.engine.cfg}) and the guard that keeps a refused
 * configuration from reaching any component.
 *
 * <p>Two kinds of type, named by suffix:
 * <ul>
 * <li>{@code *Config}: what the operator may write. A metatype {@code @ObjectClassDefinition} annotation interface
 * (names, descriptions, defaults, for the console and the web console), or, for keys whose names carry data
 * ({@code partition.<pkey>}, {@code peer.<node>}), a reader of those raw keys. Never trusted as it stands: Declarative
 * Services would turn a typo in a number into an exception at first use, or silently into {@code false}.</li>
 * <li>{@code *Settings}: values read from the raw properties and checked as a whole, an immutable record. Its
 * {@code parse} either returns settings every field of which is in range, or throws one
 * {@link java.lang.IllegalArgumentException} naming the key, the value and what is accepted; nothing is applied
 * before the whole file passed.</li>
 * </ul>
 * A component's {@code @Activate} and {@code @Modified} methods take the {@code *Config} for defaults and the raw
 * properties, parse them into {@code *Settings}, and apply only those.
 */
package io.vmrdma.engine.internal.config;
