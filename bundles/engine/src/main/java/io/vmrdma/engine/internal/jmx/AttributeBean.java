package io.vmrdma.engine.internal.jmx;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.InvalidAttributeValueException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanException;
import javax.management.MBeanInfo;
import javax.management.ReflectionException;

/**
 * An MBean of attributes only, each read (and, for settings, written) through a function: vmrdma's MBeans are
 * views of services, so they hold no state of their own and always show what the engine has now. Writes go through
 * the same service calls as the console, so a value the console refuses is refused here with the same message.
 */
final class AttributeBean implements DynamicMBean {

    /** Applies a written value; throws {@link IllegalArgumentException} with the reason for a value refused. */
    interface Writer {
        void write(Object value) throws Exception;
    }

    private record Attr(String name, Class<?> type, String description, Supplier<?> reader, Writer writer) {
    }

    private final String className;
    private final String description;
    private final Map<String, Attr> attributes = new LinkedHashMap<>();

    AttributeBean(String className, String description) {
        this.className = className;
        this.description = description;
    }

    /** Adds a read-only attribute. */
    <T> AttributeBean read(String name, Class<T> type, String text, Supplier<? extends T> reader) {
        attributes.put(name, new Attr(name, type, text, reader, null));
        return this;
    }

    /** Adds an attribute that may also be written. */
    <T> AttributeBean readWrite(String name, Class<T> type, String text, Supplier<? extends T> reader,
                                Writer writer) {
        attributes.put(name, new Attr(name, type, text, reader, writer));
        return this;
    }

    @Override
    public Object getAttribute(String name) throws AttributeNotFoundException, MBeanException {
        Attr attr = attributes.get(name);
        if (attr == null) {
            throw new AttributeNotFoundException("no attribute " + name);
        }
        try {
            return attr.reader().get();
        } catch (RuntimeException e) {
            throw new MBeanException(e, name + ": " + e.getMessage());
        }
    }

    @Override
    public void setAttribute(Attribute attribute) throws AttributeNotFoundException, InvalidAttributeValueException,
            MBeanException {
        Attr attr = attributes.get(attribute.getName());
        if (attr == null) {
            throw new AttributeNotFoundException("no attribute " + attribute.getName());
        }
        if (attr.writer() == null) {
            throw new AttributeNotFoundException(attribute.getName() + " is read-only");
        }
        Object value = attribute.getValue();
        if (value == null || !boxed(attr.type()).isInstance(value)) {
            throw new InvalidAttributeValueException(attribute.getName() + " takes a " + attr.type().getSimpleName()
                    + ", not " + value);
        }
        try {
            attr.writer().write(value);
        } catch (IllegalArgumentException e) {
            // Refused as the console refuses it; the settings in force stay.
            throw new InvalidAttributeValueException(attribute.getName() + ": " + e.getMessage());
        } catch (Exception e) {
            throw new MBeanException(e, attribute.getName() + ": " + e.getMessage());
        }
    }

    @Override
    public AttributeList getAttributes(String[] names) {
        AttributeList list = new AttributeList();
        for (String name : names) {
            try {
                list.add(new Attribute(name, getAttribute(name)));
            } catch (AttributeNotFoundException | MBeanException e) {
                // JMX semantics: attributes that cannot be read are left out of the list.
            }
        }
        return list;
    }

    @Override
    public AttributeList setAttributes(AttributeList list) {
        AttributeList set = new AttributeList();
        for (Attribute attribute : list.asList()) {
            try {
                setAttribute(attribute);
                set.add(attribute);
            } catch (AttributeNotFoundException | InvalidAttributeValueException | MBeanException e) {
                // JMX semantics: the returned list names the attributes that were set.
            }
        }
        return set;
    }

    @Override
    public Object invoke(String action, Object[] params, String[] signature) throws ReflectionException {
        throw new ReflectionException(new NoSuchMethodException(action), "vmrdma MBeans have attributes only");
    }

    @Override
    public MBeanInfo getMBeanInfo() {
        List<MBeanAttributeInfo> infos = new ArrayList<>();
        for (Attr attr : attributes.values()) {
            infos.add(new MBeanAttributeInfo(attr.name(), attr.type().getName(), attr.description(), true,
                    attr.writer() != null, attr.type() == boolean.class));
        }
        return new MBeanInfo(className, description, infos.toArray(MBeanAttributeInfo[]::new), null, null, null);
    }

    private static Class<?> boxed(Class<?> type) {
        if (type == int.class) {
            return Integer.class;
        }
        if (type == long.class) {
            return Long.class;
        }
        if (type == boolean.class) {
            return Boolean.class;
        }
        if (type == double.class) {
            return Double.class;
        }
        return type;
    }
}
