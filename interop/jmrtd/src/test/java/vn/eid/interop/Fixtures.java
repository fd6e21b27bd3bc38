package vn.eid.interop;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the project says about its synthetic citizens and test PKI, asked from the `eid` CLI. */
final class Fixtures {
  static final String CLI = System.getProperty("eid.cli", "../../target/debug/eid");

  private Fixtures() {}

  /** One synthetic citizen as `eid fixtures citizens --json` lists them. */
  record Citizen(
      String id,
      String fullName,
      String dob,
      String expiry,
      String can,
      String sex,
      String mrzSurname,
      String mrzGivenNames) {
    /** The CCCD's MRZ document number: the last 9 digits of the 12-digit ID number. */
    String documentNumber() {
      return id.substring(3);
    }
  }

  static byte[] eid(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(CLI);
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("eid " + String.join(" ", args) + " failed");
    }
    return out;
  }

  // The JSON is an array of flat objects with string values (serde_json output, no escapes in
  // these fields): a pattern is enough and keeps this harness free of a JSON library.
  private static final Pattern OBJECT = Pattern.compile("\\{([^{}]*)\\}");
  private static final Pattern FIELD = Pattern.compile("\"([a-z_]+)\"\\s*:\\s*\"([^\"\\\\]*)\"");

  static List<Citizen> citizens() throws IOException, InterruptedException {
    String json = new String(eid("fixtures", "citizens", "--json"), StandardCharsets.UTF_8);
    List<Citizen> all = new ArrayList<>();
    Matcher o = OBJECT.matcher(json);
    while (o.find()) {
      Map<String, String> f = new HashMap<>();
      Matcher m = FIELD.matcher(o.group(1));
      while (m.find()) {
        f.put(m.group(1), m.group(2));
      }
      all.add(
          new Citizen(
              f.get("id"),
              f.get("full_name"),
              f.get("dob"),
              f.get("expiry"),
              f.get("can"),
              f.get("sex"),
              f.get("mrz_surname"),
              f.get("mrz_given_names")));
    }
    if (all.isEmpty() || all.get(0).mrzSurname() == null) {
      throw new IOException("eid fixtures citizens --json: unexpected output");
    }
    return all;
  }

  /** The test CSCA that signs the simulated cards' document signers. */
  static X509Certificate csca() throws Exception {
    byte[] pem = eid("fixtures", "csca");
    return (X509Certificate)
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem));
  }
}
