# Sourced by the project's scripts: installs Debian's JDK 17 when no java is on the PATH, sets JAVA_HOME from the
# java on the PATH when it is not set, so Karaf's scripts do not guess, and fails clearly below Java 17.
if [ -z "${JAVA_HOME:-}" ]; then
    if ! command -v java >/dev/null 2>&1; then
        # A bare Debian machine: install the JDK the way the other packages are installed.
        "$(dirname "${BASH_SOURCE[0]}")/ensure-packages.sh" openjdk-17-jdk-headless
    fi
    if ! command -v java >/dev/null 2>&1; then
        echo "error: no java on the PATH; vmrdma needs Java 17 or newer" >&2
        exit 1
    fi
    JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    export JAVA_HOME
fi
java_major="$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [ "${java_major%%.*}" -lt 17 ] 2>/dev/null; then
    echo "error: $JAVA_HOME is Java $java_major; vmrdma needs Java 17 or newer" >&2
    exit 1
fi
