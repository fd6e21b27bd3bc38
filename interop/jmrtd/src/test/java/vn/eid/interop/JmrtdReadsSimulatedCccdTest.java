package vn.eid.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import net.sf.scuba.smartcards.CardServiceException;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.jmrtd.BACKey;
import org.jmrtd.PACEKeySpec;
import org.jmrtd.PassportService;
import org.jmrtd.lds.ActiveAuthenticationInfo;
import org.jmrtd.lds.CardAccessFile;
import org.jmrtd.lds.ChipAuthenticationInfo;
import org.jmrtd.lds.ChipAuthenticationPublicKeyInfo;
import org.jmrtd.lds.PACEInfo;
import org.jmrtd.lds.SODFile;
import org.jmrtd.lds.SecurityInfo;
import org.jmrtd.lds.icao.COMFile;
import org.jmrtd.lds.icao.DG14File;
import org.jmrtd.lds.icao.DG15File;
import org.jmrtd.lds.icao.DG1File;
import org.jmrtd.lds.icao.DG2File;
import org.jmrtd.lds.icao.MRZInfo;
import org.jmrtd.lds.iso19794.FaceImageInfo;
import org.jmrtd.lds.iso19794.FaceInfo;
import org.jmrtd.protocol.AAResult;
import org.jmrtd.protocol.EACCAResult;
import org.jmrtd.protocol.PACEResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * JMRTD, an ICAO 9303 reader written by others, reads the simulated CCCD over PC/SC (pcscd +
 * vpcd) exactly as it reads a passport on a desk reader. If the simulator answered only what our
 * own reader expects, these tests would fail: they are the independent evidence that it behaves
 * like a chip. Every value checked comes from JMRTD's parsers or from the fixture citizen.
 */
class JmrtdReadsSimulatedCccdTest {
  private static List<Fixtures.Citizen> citizens;
  private static X509Certificate csca;
  /** Citizen 0's card, with PACE, chip and active authentication. */
  private static SimulatedCard paceCard;
  /** Citizen 1's card, an older chip: BAC only (no EF.CardAccess), short APDUs only. */
  private static SimulatedCard bacCard;

  @BeforeAll
  static void plugCards() throws Exception {
    Security.addProvider(new BouncyCastleProvider());
    citizens = Fixtures.citizens();
    csca = Fixtures.csca();
    paceCard =
        SimulatedCard.plug(
            System.getProperty("eid.reader.pace"), System.getProperty("eid.vpcd.pace"),
            citizens.get(0).id(), false);
    bacCard =
        SimulatedCard.plug(
            System.getProperty("eid.reader.bac"), System.getProperty("eid.vpcd.bac"),
            citizens.get(1).id(), true);
  }

  @AfterAll
  static void unplugCards() throws Exception {
    if (paceCard != null) paceCard.close();
    if (bacCard != null) bacCard.close();
  }

  // --- the link -------------------------------------------------------------------------------

  private record Session(PassportService service, PcscCardService link, long startNanos)
      implements AutoCloseable {
    @Override
    public void close() {
      service.close();
      // One line per session for the test log: how much this read cost over PC/SC.
      System.out.printf("jmrtd: %d APDUs in %d ms%n", link.statusWords.size(),
          (System.nanoTime() - startNanos) / 1_000_000);
    }
  }

  /**
   * A fresh power-up of the card, with JMRTD configured like a desk reader: extended length for
   * secure messaging when the ATR announces it (card capabilities, third byte, bit 0x40).
   */
  private static Session connect(SimulatedCard card, boolean sfi) throws CardServiceException {
    PcscCardService link = new PcscCardService(card.terminal);
    link.open();
    byte[] atr = link.getATR();
    boolean extended = atr.length > 8 && atr[5] == 0x73 && (atr[8] & 0x40) != 0;
    PassportService service =
        new PassportService(
            link,
            PassportService.NORMAL_MAX_TRANCEIVE_LENGTH,
            extended
                ? PassportService.EXTENDED_MAX_TRANCEIVE_LENGTH
                : PassportService.NORMAL_MAX_TRANCEIVE_LENGTH,
            PassportService.DEFAULT_MAX_BLOCKSIZE,
            sfi,
            true);
    service.open();
    return new Session(service, link, System.nanoTime());
  }

  private static BACKey bacKey(Fixtures.Citizen c) {
    return new BACKey(c.documentNumber(), c.dob(), c.expiry());
  }

  private static byte[] read(PassportService s, short fid, int blockSize) throws Exception {
    try (InputStream in = s.getInputStream(fid, blockSize)) {
      return in.readAllBytes();
    }
  }

  private static byte[] read(PassportService s, short fid) throws Exception {
    return read(s, fid, PassportService.DEFAULT_MAX_BLOCKSIZE);
  }

  // --- what the card holds, checked ----------------------------------------------------------

  /** Every file of the LDS the card lists, read after access control: data group number → bytes. */
  private static Map<Integer, byte[]> readAll(PassportService s, COMFile com) throws Exception {
    Map<Integer, byte[]> dgs = new TreeMap<>();
    for (int tag : com.getTagList()) {
      int dg = dataGroupOfTag(tag);
      dgs.put(dg, read(s, (short) (0x0100 | dg)));
    }
    return dgs;
  }

  private static int dataGroupOfTag(int tag) {
    return switch (tag) {
      case 0x61 -> 1;
      case 0x75 -> 2;
      case 0x63 -> 3;
      case 0x76 -> 4;
      case 0x65 -> 5;
      case 0x66 -> 6;
      case 0x67 -> 7;
      case 0x68 -> 8;
      case 0x69 -> 9;
      case 0x6A -> 10;
      case 0x6B -> 11;
      case 0x6C -> 12;
      case 0x6D -> 13;
      case 0x6E -> 14;
      case 0x6F -> 15;
      case 0x70 -> 16;
      default -> throw new AssertionError("EF.COM lists an unknown tag " + Integer.toHexString(tag));
    };
  }

  /** DG1's MRZ, as JMRTD parses it, equals the citizen's data; the check digits hold. */
  private static void assertMrzIsCitizen(byte[] dg1, Fixtures.Citizen c) throws IOException {
    DG1File file = new DG1File(new ByteArrayInputStream(dg1));
    assertArrayEquals(dg1, file.getEncoded(), "JMRTD re-encodes DG1 to the same bytes");
    MRZInfo m = file.getMRZInfo();
    assertEquals(MRZInfo.DOC_TYPE_ID1, m.getDocumentType(), "a TD1 (ID card) MRZ");
    assertEquals("ID", m.getDocumentCode());
    assertEquals("VNM", m.getIssuingState());
    assertEquals("VNM", m.getNationality());
    assertEquals(c.documentNumber(), m.getDocumentNumber());
    assertEquals(c.dob(), m.getDateOfBirth());
    assertEquals(c.expiry(), m.getDateOfExpiry());
    assertEquals(c.sex(), m.getGender().name().substring(0, 1));
    assertEquals(c.mrzSurname(), m.getPrimaryIdentifier());
    assertEquals(c.mrzGivenNames().replace('<', ' '), m.getSecondaryIdentifier().trim());
    // The CCCD puts the full 12-digit ID number in the optional data of line 1.
    assertEquals(c.id(), m.getOptionalData1().replace("<", ""));
    // Check digits, recomputed by JMRTD over the fields it parsed.
    String mrz = m.toString().replace("\n", "");
    assertEquals(90, mrz.length(), "three lines of 30 characters");
    assertEquals(MRZInfo.checkDigit(mrz.substring(5, 14)), mrz.charAt(14), "document number");
    assertEquals(MRZInfo.checkDigit(mrz.substring(30, 36)), mrz.charAt(36), "date of birth");
    assertEquals(MRZInfo.checkDigit(mrz.substring(38, 44)), mrz.charAt(44), "date of expiry");
    String composite = mrz.substring(5, 30) + mrz.substring(30, 37) + mrz.substring(38, 45)
        + mrz.substring(48, 59);
    assertEquals(MRZInfo.checkDigit(composite), mrz.charAt(59), "composite");
  }

  /** DG2 parses as a CBEFF / ISO 19794-5 face with one JPEG whose header matches the record. */
  private static void assertFace(byte[] dg2) throws IOException {
    DG2File file = new DG2File(new ByteArrayInputStream(dg2));
    List<FaceInfo> faces = file.getFaceInfos();
    assertEquals(1, faces.size(), "one facial record");
    List<FaceImageInfo> images = faces.get(0).getFaceImageInfos();
    assertEquals(1, images.size(), "one face image");
    FaceImageInfo img = images.get(0);
    assertEquals("image/jpeg", img.getMimeType());
    byte[] jpeg = img.getImageInputStream().readAllBytes();
    assertEquals(img.getImageLength(), jpeg.length);
    BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(jpeg));
    assertNotNull(decoded, "the JDK decodes the face JPEG");
    assertEquals(img.getWidth(), decoded.getWidth(), "width in the 19794-5 header");
    assertEquals(img.getHeight(), decoded.getHeight(), "height in the 19794-5 header");
  }

  /**
   * Passive authentication with JMRTD's SOD parser and BouncyCastle's CMS: every data group's
   * hash equals the SOD's, the SOD lists no data group the card lacks, the CMS signature holds
   * under the DSC inside the SOD, and the DSC is signed by the test CSCA.
   */
  private static void assertPassiveAuthentication(byte[] sodBytes, Map<Integer, byte[]> dgs)
      throws Exception {
    SODFile sod = new SODFile(new ByteArrayInputStream(sodBytes));
    Map<Integer, byte[]> hashes = sod.getDataGroupHashes();
    assertEquals(dgs.keySet(), hashes.keySet(), "the SOD covers exactly the data groups of EF.COM");
    MessageDigest md = MessageDigest.getInstance(sod.getDigestAlgorithm());
    for (Map.Entry<Integer, byte[]> e : dgs.entrySet()) {
      assertArrayEquals(hashes.get(e.getKey()), md.digest(e.getValue()), "hash of DG" + e.getKey());
    }
    X509Certificate dsc = sod.getDocSigningCertificate();
    assertNotNull(dsc, "the SOD carries its document signer certificate");
    CMSSignedData cms = new CMSSignedData(withoutOuterTag(sodBytes, 0x77));
    List<SignerInformation> signers = List.copyOf(cms.getSignerInfos().getSigners());
    assertEquals(1, signers.size());
    assertTrue(
        signers.get(0).verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(dsc)),
        "the SOD's CMS signature verifies with the DSC");
    // What JMRTD takes as the signed bytes (the DER signed attributes) is what BC verified.
    assertArrayEquals(sod.getEContent(), signers.get(0).getEncodedSignedAttributes());
    dsc.verify(csca.getPublicKey());
    assertEquals(csca.getSubjectX500Principal(), dsc.getIssuerX500Principal());
  }

  /** The value of a BER TLV with a one-byte `tag` (definite length). */
  private static byte[] withoutOuterTag(byte[] tlv, int tag) {
    assertEquals(tag, tlv[0] & 0xFF);
    int len = tlv[1] & 0xFF;
    int off = 2;
    if (len > 0x80) {
      int n = len & 0x7F;
      len = 0;
      for (int i = 0; i < n; i++) len = (len << 8) | (tlv[off++] & 0xFF);
    }
    assertEquals(tlv.length, off + len, "one TLV, nothing after it");
    return Arrays.copyOfRange(tlv, off, off + len);
  }

  // --- the tests ------------------------------------------------------------------------------

  @Test
  void basicAccessControlThenEveryFileAndPassiveAuthentication() throws Exception {
    Fixtures.Citizen c = citizens.get(0);
    try (Session s = connect(paceCard, true)) {
      assertEquals(0x40, s.link().getATR()[8] & 0x40, "the ATR announces extended length");
      s.service().sendSelectApplet(false);
      s.service().doBAC(bacKey(c));
      byte[] comBytes = read(s.service(), PassportService.EF_COM);
      COMFile com = new COMFile(new ByteArrayInputStream(comBytes));
      assertArrayEquals(comBytes, com.getEncoded(), "JMRTD re-encodes EF.COM to the same bytes");
      assertEquals("1.7", com.getLDSVersion());
      assertArrayEquals(new int[] {0x61, 0x75, 0x6D, 0x6E, 0x6F}, com.getTagList(),
          "DG1, DG2, DG13, DG14, DG15");
      Map<Integer, byte[]> dgs = readAll(s.service(), com);
      byte[] sod = read(s.service(), PassportService.EF_SOD);
      assertMrzIsCitizen(dgs.get(1), c);
      assertFace(dgs.get(2));
      // DG13 (Vietnam's citizen data, no JMRTD parser): its full name is the citizen's, in UTF-8.
      assertTrue(
          new String(dgs.get(13), java.nio.charset.StandardCharsets.UTF_8).contains(c.fullName()),
          "DG13 holds the citizen's full name");
      assertPassiveAuthentication(sod, dgs);
      // Every response of the session was a success (9000; 6282 only at a file's end).
      assertTrue(s.link().statusWords.stream().allMatch(sw -> sw == 0x9000 || sw == 0x6282),
          "status words: " + hex(s.link().statusWords));
    }
  }

  @Test
  void paceWithTheCanThenChipAndActiveAuthentication() throws Exception {
    Fixtures.Citizen c = citizens.get(0);
    try (Session s = connect(paceCard, true)) {
      PACEInfo pace = paceInfo(s.service());
      assertEquals(PACEInfo.MappingType.GM, PACEInfo.toMappingType(pace.getObjectIdentifier()));
      assertEquals(BigInteger.valueOf(PACEInfo.PARAM_ID_ECP_BRAINPOOL_P256_R1), pace.getParameterId());
      PACEResult r = s.service().doPACE(PACEKeySpec.createCANKey(c.can()), pace.getObjectIdentifier(),
          PACEInfo.toParameterSpec(pace.getParameterId()), pace.getParameterId());
      assertNotNull(r.getWrapper(), "PACE gives a secure-messaging channel");
      s.service().sendSelectApplet(true);
      byte[] dg1 = read(s.service(), PassportService.EF_DG1);
      assertMrzIsCitizen(dg1, c);
      byte[] dg14 = read(s.service(), PassportService.EF_DG14);
      byte[] dg15 = read(s.service(), PassportService.EF_DG15);
      DG14File sec = new DG14File(new ByteArrayInputStream(dg14));

      // Chip authentication (ICAO 9303-11 §6.2): JMRTD takes over the chip's new keys; a clone
      // without the private key could not answer the next command under them.
      List<ChipAuthenticationInfo> caInfos = sec.getChipAuthenticationInfos();
      List<ChipAuthenticationPublicKeyInfo> caKeys = sec.getChipAuthenticationPublicKeyInfos();
      assertEquals(1, caInfos.size());
      assertEquals(1, caKeys.size());
      ChipAuthenticationInfo ca = caInfos.get(0);
      ChipAuthenticationPublicKeyInfo key = caKeys.get(0);
      EACCAResult car = s.service().doEACCA(ca.getKeyId(), ca.getObjectIdentifier(),
          key.getObjectIdentifier(), key.getSubjectPublicKey());
      assertTrue(car.getWrapper() != r.getWrapper(), "chip authentication re-keys the channel");
      byte[] sod = read(s.service(), PassportService.EF_SOD);
      byte[] dg2 = read(s.service(), PassportService.EF_DG2);
      byte[] dg13 = read(s.service(), PassportService.EF_DG13);
      assertPassiveAuthentication(sod, Map.of(1, dg1, 2, dg2, 13, dg13, 14, dg14, 15, dg15));

      // Active authentication (§6.1): an ECDSA signature (plain r||s) over a fresh challenge,
      // checked with the DG15 key and the algorithm DG14 names.
      List<ActiveAuthenticationInfo> aaInfos = sec.getActiveAuthenticationInfos();
      assertEquals(1, aaInfos.size());
      assertEquals(ActiveAuthenticationInfo.ECDSA_PLAIN_SHA256_OID,
          aaInfos.get(0).getSignatureAlgorithmOID());
      DG15File aaKey = new DG15File(new ByteArrayInputStream(dg15));
      byte[] challenge = new byte[8];
      new SecureRandom().nextBytes(challenge);
      AAResult aa = s.service().doAA(aaKey.getPublicKey(), "SHA-256", "SHA256withPLAIN-ECDSA", challenge);
      Signature verify = Signature.getInstance("SHA256withPLAIN-ECDSA", "BC");
      verify.initVerify(aaKey.getPublicKey());
      verify.update(challenge);
      assertTrue(verify.verify(aa.getResponse()), "the chip signed our challenge with the DG15 key");
      verify.initVerify(aaKey.getPublicKey());
      challenge[0] ^= 1;
      verify.update(challenge);
      assertFalse(verify.verify(aa.getResponse()), "and not another one");
    }
  }

  @Test
  void paceWithTheMrzAndLargeBlocksWithoutShortFileIdentifiers() throws Exception {
    Fixtures.Citizen c = citizens.get(0);
    try (Session s = connect(paceCard, false)) {
      PACEInfo pace = paceInfo(s.service());
      s.service().doPACE(PACEKeySpec.createMRZKey(bacKey(c)), pace.getObjectIdentifier(),
          PACEInfo.toParameterSpec(pace.getParameterId()), pace.getParameterId());
      s.service().sendSelectApplet(true);
      // SELECT by file identifier, then READ BINARY with an extended Le (4 KiB blocks).
      byte[] dg2 = read(s.service(), PassportService.EF_DG2, 4096);
      assertFace(dg2);
      byte[] dg1 = read(s.service(), PassportService.EF_DG1, 4096);
      assertMrzIsCitizen(dg1, c);
      SODFile sod = new SODFile(new ByteArrayInputStream(read(s.service(), PassportService.EF_SOD, 4096)));
      MessageDigest md = MessageDigest.getInstance(sod.getDigestAlgorithm());
      assertArrayEquals(sod.getDataGroupHashes().get(2), md.digest(dg2));
      assertArrayEquals(sod.getDataGroupHashes().get(1), md.digest(dg1));
    }
  }

  @Test
  void wrongMrzDataAndWrongCanAreRefusedByTheChip() throws Exception {
    Fixtures.Citizen c = citizens.get(0);
    try (Session s = connect(paceCard, true)) {
      s.service().sendSelectApplet(false);
      BACKey wrong = new BACKey(c.documentNumber(), "010101", c.expiry());
      CardServiceException e = assertThrows(CardServiceException.class, () -> s.service().doBAC(wrong));
      assertTrue(s.link().statusWords.contains(0x6982) || s.link().statusWords.contains(0x6300),
          "BAC refused with a security status: " + hex(s.link().statusWords) + " " + e);
    }
    try (Session s = connect(paceCard, true)) {
      PACEInfo pace = paceInfo(s.service());
      String wrongCan = c.can().equals("000000") ? "111111" : "000000";
      assertThrows(CardServiceException.class,
          () -> s.service().doPACE(PACEKeySpec.createCANKey(wrongCan), pace.getObjectIdentifier(),
              PACEInfo.toParameterSpec(pace.getParameterId()), pace.getParameterId()));
    }
    // Files stay closed without access control.
    try (Session s = connect(paceCard, true)) {
      s.service().sendSelectApplet(false);
      assertThrows(CardServiceException.class, () -> read(s.service(), PassportService.EF_DG1));
      assertTrue(s.link().statusWords.contains(0x6982), "DG1 without SM: " + hex(s.link().statusWords));
    }
  }

  @Test
  void olderChipWithoutPaceOrExtendedLengthReadsWithBac() throws Exception {
    Fixtures.Citizen c = citizens.get(1);
    try (Session s = connect(bacCard, true)) {
      byte[] atr = s.link().getATR();
      assertEquals(0, atr[8] & 0x40, "the older chip's ATR announces no extended length");
      CardServiceException e = assertThrows(CardServiceException.class,
          () -> read(s.service(), PassportService.EF_CARD_ACCESS));
      assertTrue(s.link().statusWords.contains(0x6A82),
          "no EF.CardAccess: file not found, " + hex(s.link().statusWords) + " " + e);
    }
    try (Session s = connect(bacCard, true)) {
      s.service().sendSelectApplet(false);
      s.service().doBAC(bacKey(c));
      COMFile com = new COMFile(new ByteArrayInputStream(read(s.service(), PassportService.EF_COM)));
      Map<Integer, byte[]> dgs = readAll(s.service(), com);
      assertMrzIsCitizen(dgs.get(1), c);
      DG14File sec = new DG14File(new ByteArrayInputStream(dgs.get(14)));
      for (SecurityInfo si : sec.getSecurityInfos()) {
        assertFalse(si instanceof PACEInfo, "an older chip announces no PACE in DG14");
      }
      assertPassiveAuthentication(read(s.service(), PassportService.EF_SOD), dgs);
      assertFace(dgs.get(2));
      assertTrue(s.link().statusWords.stream().allMatch(sw -> sw == 0x9000 || sw == 0x6282),
          "status words: " + hex(s.link().statusWords));
    }
  }

  private static PACEInfo paceInfo(PassportService s) throws Exception {
    CardAccessFile access = new CardAccessFile(new ByteArrayInputStream(read(s, PassportService.EF_CARD_ACCESS)));
    List<PACEInfo> paces = access.getSecurityInfos().stream()
        .filter(PACEInfo.class::isInstance).map(PACEInfo.class::cast).toList();
    assertEquals(1, paces.size(), "EF.CardAccess offers one PACE configuration");
    return paces.get(0);
  }

  private static String hex(List<Integer> sws) {
    StringBuilder b = new StringBuilder();
    for (int sw : sws) b.append(String.format("%04X ", sw));
    return b.toString().trim();
  }
}
