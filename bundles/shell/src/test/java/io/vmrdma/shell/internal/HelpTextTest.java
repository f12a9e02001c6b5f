package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.junit.jupiter.api.Test;

/** Every command of the scope explains itself in --help: what it does, in detail, and every argument and option. */
class HelpTextTest {

    private static List<Class<?>> commands() throws IOException, URISyntaxException, ClassNotFoundException {
        Path dir = Path.of(StatusCommand.class.getResource("StatusCommand.class").toURI()).getParent();
        List<Class<?>> commands = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith("Command.class")).toList()) {
                String name = file.getFileName().toString().replace(".class", "");
                Class<?> type = Class.forName(HelpTextTest.class.getPackageName() + "." + name);
                if (type.isAnnotationPresent(Command.class)) {
                    commands.add(type);
                }
            }
        }
        return commands;
    }

    @Test
    void everyCommandArgumentAndOptionIsDescribed() throws Exception {
        List<Class<?>> commands = commands();
        assertThat(commands).extracting(c -> c.getAnnotation(Command.class).name())
                .contains("status", "domains", "qps", "mrs", "peers", "stats", "policy", "weight", "priority", "rate",
                        "guest-create", "guest-destroy");
        for (Class<?> type : commands) {
            Command command = type.getAnnotation(Command.class);
            assertThat(command.scope()).isEqualTo("vmrdma");
            assertThat(command.description()).as(command.name()).hasSizeGreaterThan(20);
            assertThat(command.detailedDescription()).as(command.name() + " detail").hasSizeGreaterThan(60);
            for (Class<?> c = type; c != Object.class; c = c.getSuperclass()) {
                for (Field field : c.getDeclaredFields()) {
                    Argument argument = field.getAnnotation(Argument.class);
                    Option option = field.getAnnotation(Option.class);
                    if (argument != null) {
                        assertThat(argument.description()).as(command.name() + " " + argument.name()).isNotBlank();
                    }
                    if (option != null) {
                        assertThat(option.description()).as(command.name() + " " + option.name()).isNotBlank();
                    }
                }
            }
        }
    }
}
