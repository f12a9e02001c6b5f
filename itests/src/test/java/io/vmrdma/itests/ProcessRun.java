package io.vmrdma.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A command run to its end with its output, for the tests that drive the distribution's scripts, {@code ip} and
 * {@code bin/client} from outside. One that overruns is killed with its children and fails the test.
 *
 * @param status the command's exit status
 * @param output what it printed, standard error included when the builder redirects it
 */
record ProcessRun(int status, String output) {

    static ProcessRun of(ProcessBuilder builder, int timeoutSeconds) throws IOException, InterruptedException {
        Process process = builder.start();
        process.getOutputStream().close();
        StringBuilder output = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                output.append(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                output.append("(output lost: ").append(e.getMessage()).append(')');
            }
        });
        reader.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            reader.join(5000);
            throw new AssertionError(builder.command() + " did not finish in " + timeoutSeconds + " s:\n" + output);
        }
        reader.join();
        return new ProcessRun(process.exitValue(), output.toString());
    }
}
