package vn.eid.interop;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.smartcardio.CardException;
import javax.smartcardio.CardTerminal;
import javax.smartcardio.TerminalFactory;

/**
 * A citizen's simulated CCCD plugged into a vpcd virtual reader: `eid fixtures vpcd-card` runs
 * for as long as this object is open, and the card shows up in pcscd's reader.
 */
final class SimulatedCard implements AutoCloseable {
  private final Process process;
  final CardTerminal terminal;

  private SimulatedCard(Process process, CardTerminal terminal) {
    this.process = process;
    this.terminal = terminal;
  }

  /** `olderChip`: BAC only (no EF.CardAccess) and short APDUs only, like chips of the 2000s. */
  static SimulatedCard plug(String reader, String vpcdAddr, String id, boolean olderChip)
      throws Exception {
    List<String> cmd =
        new ArrayList<>(List.of(Fixtures.CLI, "fixtures", "vpcd-card", "--addr", vpcdAddr, "--id", id));
    if (olderChip) {
      cmd.add("--bac-only");
      cmd.add("--short-apdus");
    }
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    // A JVM stopped before @AfterAll must not leave the card process behind.
    Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
    try {
      CardTerminal t = terminals().getTerminal(reader);
      if (t == null) {
        throw new IllegalStateException(
            "pcscd has no reader \"" + reader + "\" (start it with scripts/pcsc-env.sh pcsc_start)");
      }
      if (!t.waitForCardPresent(15_000)) {
        throw new IllegalStateException("the simulated card did not appear in " + reader);
      }
      return new SimulatedCard(p, t);
    } catch (Exception e) {
      p.destroy();
      throw e;
    }
  }

  private static javax.smartcardio.CardTerminals terminals() {
    // The JDK loads libpcsclite.so, which Debian ships only with the -dev package; point it at
    // the runtime library when the property is not set.
    if (System.getProperty("sun.security.smartcardio.library") == null) {
      for (String dir :
          List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")) {
        Path lib = Path.of(dir, "libpcsclite.so.1");
        if (Files.exists(lib)) {
          System.setProperty("sun.security.smartcardio.library", lib.toString());
          break;
        }
      }
    }
    return TerminalFactory.getDefault().terminals();
  }

  @Override
  public void close() throws CardException, InterruptedException {
    process.destroy();
    process.waitFor();
    terminal.waitForCardAbsent(5_000);
  }
}
