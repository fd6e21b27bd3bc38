//! The IETF Token Status List's published examples and test vectors, run through our codec
//! (`eid_core::sdjwt::StatusList`), our JWT verifier (`StatusList::from_jwt`) and our CWT
//! claims reader (`eid_core::mdoc::parse_status_list_cwt_payload`).
//!
//! Source: draft-ietf-oauth-status-list-20 ("Token Status List (TSL)"), the examples in
//! §4.1 "Compressed Byte Array", §4.2 "Status List in JSON Format", §4.3 "Status List in CBOR
//! Format", §5.1 "Status List Token in JWT Format", §5.2 "Status List Token in CWT Format",
//! §8.2 "Status List Response" (the signed JWT), and the appendix "Test vectors for Status List
//! encoding" (1-, 2-, 4- and 8-bit lists of 2^20 entries). The example key is the draft's
//! (its generator `src/util.py`, `kid` "12"). The vectors are copied as facts; no code is.
//!
//! Compression: the draft's generator uses zlib level 9 (`LEVEL=9`), we use miniz_oxide level
//! 9. For the two-/three-byte examples of §4.1 there is only one smallest stream (no
//! back-reference fits; one final fixed-Huffman block of literals, then Adler-32), so our `lst`
//! must equal the draft's byte for byte, and it is asserted. For the 2^20-entry appendix lists
//! the stream depends on the DEFLATE match finder (zlib and miniz differ), so there only the
//! inflated bytes are compared, never the compressed ones.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eid_core::mdoc::verify_sign1;
use eid_core::mdoc::{
    STATUS_LIST_CWT_TYP, StatusListCwtClaims, parse_status_list_cwt_payload, sign_status_list_cwt,
    verify_status_list_cwt,
};
use eid_core::sdjwt::{IssuerKey, Jws, SdJwtError, StatusList, StatusListClaims, point_from_jwk};
use eid_crypto::cose::{Sign1, Tagging};
use eid_crypto::trust::TrustStore;
use serde_json::{Value, json};

/// §4.1, first example: 16 entries, `bits` 1.
const EX1_STATUSES: [u8; 16] = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
const EX1_BYTES: [u8; 2] = [0xB9, 0xA3];
const EX1_COMPRESSED_HEX: &str = "78dadbb918000217015d";
/// §4.2, the same list in JSON.
const EX1_LST: &str = "eNrbuRgAAhcBXQ";
/// §4.3, the same list in CBOR.
const EX1_CBOR_HEX: &str = "a2646269747301636c73744a78dadbb918000217015d";

/// §4.1, second example: 12 entries, `bits` 2 (0b10 is SUSPENDED).
const EX2_STATUSES: [u8; 12] = [
    0b01, 0b10, 0b00, 0b11, 0b00, 0b01, 0b00, 0b01, 0b01, 0b10, 0b11, 0b11,
];
const EX2_BYTES: [u8; 3] = [0xC9, 0x44, 0xF9];
const EX2_COMPRESSED_HEX: &str = "78da3be9f2130003df0207";
/// §4.2.
const EX2_LST: &str = "eNo76fITAAPfAgc";

/// The draft's example key (P-256; `d` is published with it, so it signs nothing of ours
/// outside this test).
const EXAMPLE_JWK: &str = r#"{"kty":"EC","crv":"P-256","kid":"12",
    "x":"I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
    "y":"6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M"}"#;
const EXAMPLE_D: &str = "xzUEdsyLosZF0acZGRAjTKImb0lQvAvssDK5XIZELd0";

/// The claims of the token examples (§5.1, §5.2, §8.2).
const SUB: &str = "https://example.com/statuslists/1";
const IAT: u64 = 1686920170;
const EXP: u64 = 2291720170;
const TTL: u64 = 43200;

/// §5.1: the JWT example's claims set (the header is `{"alg":"ES256","kid":"12","typ":
/// "statuslist+jwt"}`).
const JWT_EXAMPLE_CLAIMS: &str = r#"{
  "exp": 2291720170,
  "iat": 1686920170,
  "status_list": {
    "bits": 1,
    "lst": "eNrbuRgAAhcBXQ"
  },
  "sub": "https://example.com/statuslists/1",
  "ttl": 43200
}"#;

/// §8.2: the same token signed with the example key (it also carries `iss`).
const JWT_EXAMPLE_SIGNED: &str = concat!(
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyIiwidHlwIjoic3RhdHVzbGlzdCtqd3QifQ.e",
    "yJleHAiOjIyOTE3MjAxNzAsImlhdCI6MTY4NjkyMDE3MCwiaXNzIjoiaHR0cHM6Ly9le",
    "GFtcGxlLmNvbSIsInN0YXR1c19saXN0Ijp7ImJpdHMiOjEsImxzdCI6ImVOcmJ1UmdBQ",
    "WhjQlhRIn0sInN1YiI6Imh0dHBzOi8vZXhhbXBsZS5jb20vc3RhdHVzbGlzdHMvMSIsI",
    "nR0bCI6NDMyMDB9.2lKUUNG503R9htu4aHAYi7vjmr3sgApbfoDvPrl65N3URUO1EYqq",
    "Ql45Jfzd-Av4QzlKa3oVALpLwOEUOq-U_g",
);

/// §5.2: the CWT example (tagged COSE_Sign1, ES256, `typ` in the protected header, `kid` "12"
/// unprotected), signed with the example key.
const CWT_EXAMPLE_HEX: &str = concat!(
    "d2845820a2012610781a6170706c69636174696f6e2f7374617475736c6973742b63",
    "7774a1044231325850a502782168747470733a2f2f6578616d706c652e636f6d2f73",
    "74617475736c697374732f31061a648c5bea041a8898dfea19fffe19a8c019fffda2",
    "646269747301636c73744a78dadbb918000217015d584093fa4d01032b18c35e2fe1",
    "101b77fd6cc9440022caa4694450c4e4e9feab4e99d1fa6d9772ce2bf3a12e0323de",
    "d7c982c5e101a5e67f0cbc1e2b6f57ce99c279",
);
/// Its payload, as §5.2's annotated hex shows it: `{2: sub, 6: iat, 4: exp, 65534: ttl,
/// 65533: {"bits": 1, "lst": h'78da…'}}`.
const CWT_EXAMPLE_PAYLOAD_HEX: &str = concat!(
    "a502782168747470733a2f2f6578616d706c652e636f6d2f7374617475736c697374732f",
    "31061a648c5bea041a8898dfea19fffe19a8c019fffda2646269747301636c73744a78da",
    "dbb918000217015d",
);

/// "1-bit Status List" as the appendix lists it.
const LONG_1_STATUSES: &str = "\
status[0] = 0b1\n\
status[1993] = 0b1\n\
status[25460] = 0b1\n\
status[159495] = 0b1\n\
status[495669] = 0b1\n\
status[554353] = 0b1\n\
status[645645] = 0b1\n\
status[723232] = 0b1\n\
status[854545] = 0b1\n\
status[934534] = 0b1\n\
status[1000345] = 0b1\n";
const LONG_1_LST: &str = concat!(
    "eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogEAAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAA",
    "vhsSAAAAAAAAAAAA7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAA",
    "AACAZC8L2AEb",
);

/// "2-bit Status List" as the appendix lists it.
const LONG_2_STATUSES: &str = "\
status[0] = 0b01\n\
status[1993] = 0b10\n\
status[25460]= 0b01\n\
status[159495] = 0b11\n\
status[495669] = 0b01\n\
status[554353] = 0b01\n\
status[645645] = 0b10\n\
status[723232] = 0b01\n\
status[854545] = 0b01\n\
status[934534] = 0b10\n\
status[1000345] = 0b11\n";
const LONG_2_LST: &str = concat!(
    "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGVIAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAEB5WwIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9SwIAAAAAAAAAAAAAAAAAAACoYUoA",
    "AAAAAAAAAAAAAEBqH81gAQw",
);

/// "4-bit Status List" as the appendix lists it.
const LONG_4_STATUSES: &str = "\
status[0] = 0b0001\n\
status[1993] = 0b0010\n\
status[35460] = 0b0011\n\
status[459495] = 0b0100\n\
status[595669] = 0b0101\n\
status[754353] = 0b0110\n\
status[845645] = 0b0111\n\
status[923232] = 0b1000\n\
status[924445] = 0b1001\n\
status[934534] = 0b1010\n\
status[1004534] = 0b1011\n\
status[1000345] = 0b1100\n\
status[1030203] = 0b1101\n\
status[1030204] = 0b1110\n\
status[1030205] = 0b1111\n";
const LONG_4_LST: &str = concat!(
    "eNrt0EENgDAQADAIHwImkIIEJEwCUpCEBBQRHOy35Li1EjoOQGabAgAAAAAAAAAAAAAAAAAAACC1SQEA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAABADrsCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADoxaEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIIoCgAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACArpwKAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAGhqVkAzlwIAAAAAiGVRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAABx3AoAgLpVAQAAAAAAAAAAAAAAwM89rwMAAAAAAAAAAAjsA9xMBMA",
);

/// "8-bit Status List" as the appendix lists it.
const LONG_8_STATUSES: &str = "\
status[233478] = 0b00000000\n\
status[52451] = 0b00000001\n\
status[576778] = 0b00000010\n\
status[513575] = 0b00000011\n\
status[468106] = 0b00000100\n\
status[292632] = 0b00000101\n\
status[214947] = 0b00000110\n\
status[182323] = 0b00000111\n\
status[884834] = 0b00001000\n\
status[66653] = 0b00001001\n\
status[62489] = 0b00001010\n\
status[196493] = 0b00001011\n\
status[458517] = 0b00001100\n\
status[487925] = 0b00001101\n\
status[55649] = 0b00001110\n\
status[416992] = 0b00001111\n\
status[879796] = 0b00010000\n\
status[462297] = 0b00010001\n\
status[942059] = 0b00010010\n\
status[583408] = 0b00010011\n\
status[13628] = 0b00010100\n\
status[334829] = 0b00010101\n\
status[886286] = 0b00010110\n\
status[713557] = 0b00010111\n\
status[582738] = 0b00011000\n\
status[326064] = 0b00011001\n\
status[451545] = 0b00011010\n\
status[705889] = 0b00011011\n\
status[214350] = 0b00011100\n\
status[194502] = 0b00011101\n\
status[796765] = 0b00011110\n\
status[202828] = 0b00011111\n\
status[752834] = 0b00100000\n\
status[721327] = 0b00100001\n\
status[554740] = 0b00100010\n\
status[91122] = 0b00100011\n\
status[963483] = 0b00100100\n\
status[261779] = 0b00100101\n\
status[793844] = 0b00100110\n\
status[165255] = 0b00100111\n\
status[614839] = 0b00101000\n\
status[758403] = 0b00101001\n\
status[403258] = 0b00101010\n\
status[145867] = 0b00101011\n\
status[96100] = 0b00101100\n\
status[477937] = 0b00101101\n\
status[606890] = 0b00101110\n\
status[167335] = 0b00101111\n\
status[488197] = 0b00110000\n\
status[211815] = 0b00110001\n\
status[797182] = 0b00110010\n\
status[582952] = 0b00110011\n\
status[950870] = 0b00110100\n\
status[765108] = 0b00110101\n\
status[341110] = 0b00110110\n\
status[776325] = 0b00110111\n\
status[745056] = 0b00111000\n\
status[439368] = 0b00111001\n\
status[559893] = 0b00111010\n\
status[149741] = 0b00111011\n\
status[358903] = 0b00111100\n\
status[513405] = 0b00111101\n\
status[342679] = 0b00111110\n\
status[969429] = 0b00111111\n\
status[795775] = 0b01000000\n\
status[566121] = 0b01000001\n\
status[460566] = 0b01000010\n\
status[680070] = 0b01000011\n\
status[117310] = 0b01000100\n\
status[480348] = 0b01000101\n\
status[67319] = 0b01000110\n\
status[661552] = 0b01000111\n\
status[841303] = 0b01001000\n\
status[561493] = 0b01001001\n\
status[138807] = 0b01001010\n\
status[442463] = 0b01001011\n\
status[659927] = 0b01001100\n\
status[445910] = 0b01001101\n\
status[1046963] = 0b01001110\n\
status[829700] = 0b01001111\n\
status[962282] = 0b01010000\n\
status[299623] = 0b01010001\n\
status[555493] = 0b01010010\n\
status[292826] = 0b01010011\n\
status[517215] = 0b01010100\n\
status[551009] = 0b01010101\n\
status[898490] = 0b01010110\n\
status[837603] = 0b01010111\n\
status[759161] = 0b01011000\n\
status[459948] = 0b01011001\n\
status[290102] = 0b01011010\n\
status[1034977] = 0b01011011\n\
status[190650] = 0b01011100\n\
status[98810] = 0b01011101\n\
status[229950] = 0b01011110\n\
status[320531] = 0b01011111\n\
status[335506] = 0b01100000\n\
status[885333] = 0b01100001\n\
status[133227] = 0b01100010\n\
status[806915] = 0b01100011\n\
status[800313] = 0b01100100\n\
status[981571] = 0b01100101\n\
status[527253] = 0b01100110\n\
status[24077] = 0b01100111\n\
status[240232] = 0b01101000\n\
status[559572] = 0b01101001\n\
status[713399] = 0b01101010\n\
status[233941] = 0b01101011\n\
status[615514] = 0b01101100\n\
status[911768] = 0b01101101\n\
status[331680] = 0b01101110\n\
status[951527] = 0b01101111\n\
status[6805] = 0b01110000\n\
status[552366] = 0b01110001\n\
status[374660] = 0b01110010\n\
status[223159] = 0b01110011\n\
status[625884] = 0b01110100\n\
status[417146] = 0b01110101\n\
status[320527] = 0b01110110\n\
status[784154] = 0b01110111\n\
status[338792] = 0b01111000\n\
status[1199] = 0b01111001\n\
status[679804] = 0b01111010\n\
status[1024680] = 0b01111011\n\
status[40845] = 0b01111100\n\
status[234603] = 0b01111101\n\
status[761225] = 0b01111110\n\
status[644903] = 0b01111111\n\
status[502167] = 0b10000000\n\
status[121477] = 0b10000001\n\
status[505144] = 0b10000010\n\
status[165165] = 0b10000011\n\
status[179628] = 0b10000100\n\
status[1019195] = 0b10000101\n\
status[145149] = 0b10000110\n\
status[263738] = 0b10000111\n\
status[269256] = 0b10001000\n\
status[996739] = 0b10001001\n\
status[346296] = 0b10001010\n\
status[555864] = 0b10001011\n\
status[887384] = 0b10001100\n\
status[444173] = 0b10001101\n\
status[421844] = 0b10001110\n\
status[653716] = 0b10001111\n\
status[836747] = 0b10010000\n\
status[783119] = 0b10010001\n\
status[918762] = 0b10010010\n\
status[946835] = 0b10010011\n\
status[253764] = 0b10010100\n\
status[519895] = 0b10010101\n\
status[471224] = 0b10010110\n\
status[134272] = 0b10010111\n\
status[709016] = 0b10011000\n\
status[44112] = 0b10011001\n\
status[482585] = 0b10011010\n\
status[461829] = 0b10011011\n\
status[15080] = 0b10011100\n\
status[148883] = 0b10011101\n\
status[123467] = 0b10011110\n\
status[480125] = 0b10011111\n\
status[141348] = 0b10100000\n\
status[65877] = 0b10100001\n\
status[692958] = 0b10100010\n\
status[148598] = 0b10100011\n\
status[499131] = 0b10100100\n\
status[584009] = 0b10100101\n\
status[1017987] = 0b10100110\n\
status[449287] = 0b10100111\n\
status[277478] = 0b10101000\n\
status[991262] = 0b10101001\n\
status[509602] = 0b10101010\n\
status[991896] = 0b10101011\n\
status[853666] = 0b10101100\n\
status[399318] = 0b10101101\n\
status[197815] = 0b10101110\n\
status[203278] = 0b10101111\n\
status[903979] = 0b10110000\n\
status[743015] = 0b10110001\n\
status[888308] = 0b10110010\n\
status[862143] = 0b10110011\n\
status[979421] = 0b10110100\n\
status[113605] = 0b10110101\n\
status[206397] = 0b10110110\n\
status[127113] = 0b10110111\n\
status[844358] = 0b10111000\n\
status[711569] = 0b10111001\n\
status[229153] = 0b10111010\n\
status[521470] = 0b10111011\n\
status[401793] = 0b10111100\n\
status[398896] = 0b10111101\n\
status[940810] = 0b10111110\n\
status[293983] = 0b10111111\n\
status[884749] = 0b11000000\n\
status[384802] = 0b11000001\n\
status[584151] = 0b11000010\n\
status[970201] = 0b11000011\n\
status[523882] = 0b11000100\n\
status[158093] = 0b11000101\n\
status[929312] = 0b11000110\n\
status[205329] = 0b11000111\n\
status[106091] = 0b11001000\n\
status[30949] = 0b11001001\n\
status[195586] = 0b11001010\n\
status[495723] = 0b11001011\n\
status[348779] = 0b11001100\n\
status[852312] = 0b11001101\n\
status[1018463] = 0b11001110\n\
status[1009481] = 0b11001111\n\
status[448260] = 0b11010000\n\
status[841042] = 0b11010001\n\
status[122967] = 0b11010010\n\
status[345269] = 0b11010011\n\
status[794764] = 0b11010100\n\
status[4520] = 0b11010101\n\
status[818773] = 0b11010110\n\
status[556171] = 0b11010111\n\
status[954221] = 0b11011000\n\
status[598210] = 0b11011001\n\
status[887110] = 0b11011010\n\
status[1020623] = 0b11011011\n\
status[324632] = 0b11011100\n\
status[398244] = 0b11011101\n\
status[622241] = 0b11011110\n\
status[456551] = 0b11011111\n\
status[122648] = 0b11100000\n\
status[127837] = 0b11100001\n\
status[657676] = 0b11100010\n\
status[119884] = 0b11100011\n\
status[105156] = 0b11100100\n\
status[999897] = 0b11100101\n\
status[330160] = 0b11100110\n\
status[119285] = 0b11100111\n\
status[168005] = 0b11101000\n\
status[389703] = 0b11101001\n\
status[143699] = 0b11101010\n\
status[142524] = 0b11101011\n\
status[493258] = 0b11101100\n\
status[846778] = 0b11101101\n\
status[251420] = 0b11101110\n\
status[516351] = 0b11101111\n\
status[83344] = 0b11110000\n\
status[171931] = 0b11110001\n\
status[879178] = 0b11110010\n\
status[663475] = 0b11110011\n\
status[546865] = 0b11110100\n\
status[428362] = 0b11110101\n\
status[658891] = 0b11110110\n\
status[500560] = 0b11110111\n\
status[557034] = 0b11111000\n\
status[830023] = 0b11111001\n\
status[274471] = 0b11111010\n\
status[629139] = 0b11111011\n\
status[958869] = 0b11111100\n\
status[663071] = 0b11111101\n\
status[152133] = 0b11111110\n\
status[19535] = 0b11111111\n";
const LONG_8_LST: &str = concat!(
    "eNrt0WOQM2kYhtGsbdu2bdu2bdu2bdu2bdu2jVnU1my-SWYm6U5enFPVf7ue97orFYAo7CQBAACQuuck",
    "AABStqUEAAAAAAAAtN6wEgAE71QJAAAAAIrwhwQAAAAAAdtAAgAAAAAAACLwkAQAAAAAAAAAAACUaFcJ",
    "AACAeJwkAQAAAAAAAABQvL4kAAAAWmJwCQAAAAAAAAjAwBIAAAB06ywJoDKQBARpfgkAAAAAAAAAAAAA",
    "AAAAAACo50sJAAAAAAAAAOiRcSQAAAAAgAJNKgEAAG23mgQAAAAAAECw3pUAQvegBAAAAAAAAADduE4C",
    "AAAAyjSvBAAQiw8koHjvSABAb-wlARCONyVoxtMSZOd0CQAAAOjWDRKQmLckAAAAAACysLYEQGcnSAAA",
    "AAAQooUlAABI15kSAIH5RAIgLB9LABC4_SUgGZNIAABAmM6RoLbTJIASzCIBAEAhfpcAAAAAAABquk8C",
    "AAAAAAAAaJl9SvvzBOICAFWmkIBgfSgBAAAANOgrCQAAAAAAAADStK8EAAC03gASAAAAAAAAAADFWFUC",
    "AAAAMjOaBEADHpYAQjCIBADduFwCAAAAAGitMSSI3BUSAECOHpAA6IHrJQAAAAAAsjeVBAAAKRpVAorW",
    "vwQAAAAAAAAAkKRtJAAAAAAAgCbcLAF0bXUJAAAAoF02kYDg7CYBAAAAAEB6NpQAAAAAAAAAAAAAAEr1",
    "uQQAAF06VgIAAAAAAAAAqDaeBAAQqgMkAAAAAABogQMlAAAAAAAa87MEAAAQiwslAAAAAAAAAAAAAAAA",
    "MrOyBAAAiekv-hcsY0Sgne6QAAAAAAAgaUtJAAAAAAAAAAAAAAAAAAAAAAAAAADwt-",
    "07vjVkAAAAgDy8KgFAUEaSAAAAAJL3vgQAWdhcAgAAoBHDSUDo1pQAAACI2o4SAABZm14CALoyuwQAAP",
    "znGQkgZwdLAAAQukclAAAAAAAAAAAAgKbMKgEAAAAAAAAAAAAAAAAAAECftpYAAAAAAAAAAAAACnaXBA",
    "AAAADk7iMJAAAAAAAAAABqe00CAnGbBBG4TAIAgFDdKgFAXCaWAAAAAAAAAAAAAAAAAKAJQwR72XbGAQ",
    "AAAKAhh0sAAAAAAABQgO8kAAAAAAAAAAAAACAaM0kAAAC5W0QCAIJ3mAQAxGwxCQAA6nhSAsjZBRIAAN",
    "EbWQIAAAAAaJE3JACAwA0qAUBIVpKAlphbAiAPp0iQnKEkAAAAAAAgBP1KAAAAdOl4CQAAAAAAAPjLZB",
    "IAAG10RtrPm8_CAEBMTpYAAAAAAIjQYBL8z5QSAAAAAEDYPpUAACAsj0gAAADQkHMlAAjHDxIA0Lg9JQ",
    "AAgHDsLQEAAABAQS6WAAAAgLjNFs2l_RgLAIAEfCEBlGZZCQAAaIHjJACgtlskAAAozb0SAAAAVFtfAg",
    "AAAAAAAAAAAAAAAAAAAAAAAKDDtxIAAAAAVZaTAKB5W0kAANCAsSUgJ0tL0GqHSNBbL0gAZflRAgCARG",
    "0kQXNmlgCABiwkAQAAAEB25pIAAAAAAAAAAAAAoFh9SwAAAAAAADWNmOSrpjFsEoaRgDKcF9Q1dxsEAA",
    "AAAAAAAAAAAAAAgPZ6SQIAAAAAAAAAgChMLgEAAAAAAAAAqZlQAsK2qQQAAAAAAAD06XUJAAAAqG9bCQ",
    "AAgLD9IgEAAAAAAAAAAAAAAAAAAEBNe0gAAAAAAAAAAEBPHSEBAAAAlOZtCYA4fS8B0GFRCQAo0gISAO",
    "TgNwmC840EAAAAAAAAAAAAAAAAAAAAUJydJfjXPBIAAAAAAAAAAAAAAABk6WwJAAAAAAAAAAAAAAAAqG",
    "8UCQAAgPpOlAAAIA83SQAANWwc9HUjGAgAAAAAAACAusaSAAAAAAAAAAAAAAAAAAAAAAAAAAAAqHKVBA",
    "CQjxklAAAAAAAAAKBHxpQAAAAAACBME0lAdlaUAACyt7sEAAAA0Nl0EgAAAAAAAAAAAABA-",
    "8wgAQAAAAAAAKU4SgKgUtlBAgAAAAAAAAAAgMCMLwEE51kJICdzSgCJGl2CsE0tAQAA0L11JQAAAAAAA",
    "AjUOhIAAAAAAAAAAAAAAGTqeQkAAAAAAAAAAAAAKM8SEjTrJwkAAAAAAACocqQEULgVJAAAACjDUxJUK",
    "gtKAAAAqbpRAgCA0n0mAQAAAABAGzwmAUCTLpUAAAAAAAAAAEjZNRIAAAAAAAAAAAAAAAAAAAAA8I-",
    "vJaAlhpQAAAAAAHrvzjJ-OqCuuVlLAojP8BJAr70sQZVDJYAgXS0BAAAAAAAAAAAAtMnyEgAAAAAAFON",
    "KCQAAAAAAAADorc0kAAAAAAAAgDqOlgAAAAAAAAAAAADIwv0SAAAAAAAAAAAAAADBuV0CIFVDSwAAAAB",
    "AAI6RAAAAAGIwrQSEZAsJAABouRclAAAAAKDDrxIAAAA0bkkJgFiMKwEAAAAAAHQyhwRk7h4JAAAAAAA",
    "AAAAgatdKAACUYj0JAAAAAAAAAAAAQnORBLTFJRIAAAAAkIaDJAAAAJryngQAAAAAAAAAAAA98oQEAAA",
    "AAAAAAEC2zpcgWY9LQKL2kwAgGK9IAAAAAPHaRQIAAAAAAAAAAADIxyoSAAAAAAAAAAAAAADQFotLAEC",
    "z_gQ1PX-B",
);

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn example_point() -> Vec<u8> {
    point_from_jwk(&serde_json::from_str(EXAMPLE_JWK).unwrap()).unwrap()
}

/// The example key as the mdoc reader's check takes it.
fn example_key() -> eid_core::mdoc::CoseKey {
    eid_core::mdoc::CoseKey::p256(&example_point()).unwrap()
}

fn example_signing_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&unb64(EXAMPLE_D)).unwrap()
}

/// `status[i] = 0bvv` lines, as the appendix writes them.
fn listed(text: &str) -> Vec<(u64, u8)> {
    text.lines()
        .map(|line| {
            let (index, value) = line.split_once('=').unwrap();
            let index = index.trim().strip_prefix("status[").unwrap();
            let index = index.strip_suffix(']').unwrap().parse().unwrap();
            let value = value.trim().strip_prefix("0b").unwrap();
            (index, u8::from_str_radix(value, 2).unwrap())
        })
        .collect()
}

fn assert_statuses(list: &StatusList, statuses: &[u8]) {
    for (i, want) in statuses.iter().enumerate() {
        assert_eq!(list.get(i as u64), Some(*want), "status[{i}]");
    }
}

#[test]
fn the_draft_examples_decode_to_their_statuses() {
    for (bits, lst, compressed, bytes, statuses) in [
        (
            1,
            EX1_LST,
            EX1_COMPRESSED_HEX,
            &EX1_BYTES[..],
            &EX1_STATUSES[..],
        ),
        (
            2,
            EX2_LST,
            EX2_COMPRESSED_HEX,
            &EX2_BYTES[..],
            &EX2_STATUSES[..],
        ),
    ] {
        // §4.2's `lst` is the base64url of §4.1's compressed array.
        assert_eq!(unb64(lst), hex::decode(compressed).unwrap());
        let list = StatusList::from_json(&json!({"bits": bits, "lst": lst})).unwrap();
        assert_eq!(list.bits(), bits);
        assert_eq!(list.bytes(), bytes, "§4.1 byte array, bits {bits}");
        assert_eq!(list.len(), statuses.len());
        assert_statuses(&list, statuses);
        // Past the end fails closed.
        assert_eq!(list.get(statuses.len() as u64), None);
        // The same bytes read with the wrong `bits` give other statuses: the width matters.
        let other = StatusList::from_json(&json!({"bits": 3 - bits, "lst": lst})).unwrap();
        assert_ne!(
            (0..statuses.len() as u64)
                .map(|i| other.get(i))
                .collect::<Vec<_>>(),
            statuses.iter().map(|s| Some(*s)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn our_encoder_writes_the_draft_examples_byte_for_byte() {
    for (bits, lst, compressed, bytes, statuses) in [
        (
            1,
            EX1_LST,
            EX1_COMPRESSED_HEX,
            &EX1_BYTES[..],
            &EX1_STATUSES[..],
        ),
        (
            2,
            EX2_LST,
            EX2_COMPRESSED_HEX,
            &EX2_BYTES[..],
            &EX2_STATUSES[..],
        ),
    ] {
        let mut list = StatusList::new(bits, statuses.len()).unwrap();
        for (i, s) in statuses.iter().enumerate() {
            assert!(list.set(i as u64, *s));
        }
        assert_eq!(list.bytes(), bytes, "bit order, bits {bits}");
        // Deterministic here (see the module doc): one smallest stream for 2-3 bytes.
        assert_eq!(hex::encode(list.compressed()), compressed);
        assert_eq!(list.to_json(), json!({"bits": bits, "lst": lst}));
        let back = StatusList::from_json(&list.to_json()).unwrap();
        assert_statuses(&back, statuses);
    }
}

#[test]
fn the_appendix_test_vectors_decode_to_their_statuses() {
    for (bits, text, lst) in [
        (1, LONG_1_STATUSES, LONG_1_LST),
        (2, LONG_2_STATUSES, LONG_2_LST),
        (4, LONG_4_STATUSES, LONG_4_LST),
        (8, LONG_8_STATUSES, LONG_8_LST),
    ] {
        let statuses = listed(text);
        let list = StatusList::from_json(&json!({"bits": bits, "lst": lst})).unwrap();
        // "All examples are initialized with a size of 2^20 entries."
        assert_eq!(list.len(), 1 << 20, "bits {bits}");
        for (i, want) in &statuses {
            assert_eq!(list.get(*i), Some(*want), "bits {bits}, status[{i}]");
        }
        // "All values that are not mentioned ... can be assumed to be 0 (VALID)."
        let nonzero = (0..list.len() as u64)
            .filter(|i| list.get(*i) != Some(0))
            .count();
        let listed_nonzero = statuses.iter().filter(|(_, v)| *v != 0).count();
        assert_eq!(nonzero, listed_nonzero, "bits {bits}");
        assert_eq!(list.get(1 << 20), None);
    }
    // The 8-bit vector uses every value 0..=255 once.
    let mut values: Vec<u8> = listed(LONG_8_STATUSES).iter().map(|(_, v)| *v).collect();
    values.sort_unstable();
    assert_eq!(values, (0..=255).collect::<Vec<u8>>());
}

#[test]
fn our_encoder_gives_the_appendix_lists_back() {
    for (bits, text, lst) in [
        (1, LONG_1_STATUSES, LONG_1_LST),
        (2, LONG_2_STATUSES, LONG_2_LST),
        (4, LONG_4_STATUSES, LONG_4_LST),
        (8, LONG_8_STATUSES, LONG_8_LST),
    ] {
        let mut ours = StatusList::new(bits, 1 << 20).unwrap();
        for (i, s) in listed(text) {
            assert!(ours.set(i, s), "bits {bits}, status[{i}]");
        }
        let spec = StatusList::from_json(&json!({"bits": bits, "lst": lst})).unwrap();
        assert_eq!(ours.bytes(), spec.bytes(), "bits {bits}");
        // Our compressed form inflates to the same array (its bytes need not be zlib's).
        let back = StatusList::from_json(&ours.to_json()).unwrap();
        assert_eq!(back, spec, "bits {bits}");
    }
}

#[test]
fn the_draft_cbor_status_list_is_the_one_our_cwt_payload_reads() {
    // §4.3's CBOR StatusList is the value of claim 65533 in §5.2's payload.
    let payload = hex::decode(CWT_EXAMPLE_PAYLOAD_HEX).unwrap();
    let cbor = hex::decode(EX1_CBOR_HEX).unwrap();
    assert!(payload.ends_with(&[&[0x19, 0xFF, 0xFD][..], &cbor].concat()));
}

#[test]
fn the_draft_cwt_parses_and_its_signature_verifies() {
    let cwt = hex::decode(CWT_EXAMPLE_HEX).unwrap();
    let sign1 = Sign1::decode(&cwt, Tagging::Tagged).expect("COSE_Sign1_Tagged (18)");
    assert_eq!(sign1.algorithm(), Some(-7), "ES256");
    assert_eq!(sign1.typ(), Some(STATUS_LIST_CWT_TYP));
    // (Its `kid` "12" is in the unprotected header; the key is the draft's example key.)
    assert!(verify_sign1(&sign1, &example_key(), None).is_ok());
    let payload = sign1.payload().unwrap();
    assert_eq!(hex::encode(payload), CWT_EXAMPLE_PAYLOAD_HEX);

    let claims = parse_status_list_cwt_payload(payload).unwrap();
    assert_eq!(claims.sub, SUB);
    assert_eq!(claims.issued_at, IAT);
    assert_eq!(claims.expires_at, Some(EXP));
    assert_eq!(claims.ttl, Some(TTL));
    assert_eq!(claims.list.bits(), 1);
    assert_eq!(claims.list.bytes(), EX1_BYTES);
    assert_statuses(&claims.list, &EX1_STATUSES);

    // A flipped signature byte no longer verifies.
    let mut bad = cwt.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(
        verify_sign1(
            &Sign1::decode(&bad, Tagging::Tagged).unwrap(),
            &example_key(),
            None
        )
        .is_err()
    );

    // Our verifier takes Status List Tokens from document signers (x5chain to an IACA, as for
    // MSOs); the draft's example names its key by `kid` only, so it is refused, not trusted.
    assert!(verify_status_list_cwt(&cwt, SUB, &TrustStore::default(), IAT + 1).is_err());
}

#[test]
fn the_cwt_claim_keys_are_the_drafts() {
    // Each required claim, removed from the draft's payload, makes it unreadable; the optional
    // ones (`exp` 4, `ttl` 65534) only disappear.
    let payload = hex::decode(CWT_EXAMPLE_PAYLOAD_HEX).unwrap();
    let value: ciborium::Value = ciborium::from_reader(payload.as_slice()).unwrap();
    let entries = value.into_map().unwrap();
    for key in [2, 6, 4, 65534, 65533] {
        let kept: Vec<_> = entries
            .iter()
            .filter(|(k, _)| k.as_integer() != Some(key.into()))
            .cloned()
            .collect();
        assert_eq!(kept.len(), entries.len() - 1, "key {key} is in the example");
        let mut bytes = Vec::new();
        ciborium::into_writer(&ciborium::Value::Map(kept), &mut bytes).unwrap();
        let parsed = parse_status_list_cwt_payload(&bytes);
        match key {
            4 => assert_eq!(parsed.unwrap().expires_at, None),
            65534 => assert_eq!(parsed.unwrap().ttl, None),
            _ => assert!(parsed.is_err(), "key {key} is required"),
        }
    }
}

#[test]
fn our_cwt_payload_is_the_drafts_byte_for_byte() {
    let list = StatusList::from_json(&json!({"bits": 1, "lst": EX1_LST})).unwrap();
    let key = example_signing_key();
    // The certificate slot is not read here: only the payload is compared.
    let cwt = sign_status_list_cwt(
        &list,
        &StatusListCwtClaims {
            uri: SUB,
            issued_at: IAT,
            expires_at: Some(EXP),
            ttl: Some(TTL),
        },
        b"certificate DER",
        |m| {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = key.sign(m);
            Ok::<_, ()>(sig.to_bytes().to_vec())
        },
    )
    .unwrap();
    let sign1 = Sign1::decode(&cwt, Tagging::Tagged).unwrap();
    assert_eq!(sign1.typ(), Some(STATUS_LIST_CWT_TYP));
    assert!(verify_sign1(&sign1, &example_key(), None).is_ok());
    assert_eq!(
        hex::encode(sign1.payload().unwrap()),
        CWT_EXAMPLE_PAYLOAD_HEX
    );
}

#[test]
fn the_drafts_signed_jwt_verifies_with_our_verifier() {
    let point = example_point();
    let jws = Jws::parse(JWT_EXAMPLE_SIGNED).unwrap();
    assert_eq!(jws.typ(), Some("statuslist+jwt"));
    let list =
        StatusList::from_jwt(JWT_EXAMPLE_SIGNED, SUB, IssuerKey::Key(&point), IAT + 1).unwrap();
    assert_eq!(list.bytes(), EX1_BYTES);
    assert_statuses(&list, &EX1_STATUSES);

    // `exp` reached, another URI, another signature: refused.
    assert!(matches!(
        StatusList::from_jwt(JWT_EXAMPLE_SIGNED, SUB, IssuerKey::Key(&point), EXP),
        Err(SdJwtError::Expired(_))
    ));
    assert!(
        StatusList::from_jwt(
            JWT_EXAMPLE_SIGNED,
            "https://example.com/statuslists/2",
            IssuerKey::Key(&point),
            IAT + 1
        )
        .is_err()
    );
    let mut tampered = JWT_EXAMPLE_SIGNED.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'g' { 'A' } else { 'g' });
    assert!(StatusList::from_jwt(&tampered, SUB, IssuerKey::Key(&point), IAT + 1).is_err());
}

#[test]
fn our_jwt_carries_the_drafts_claims() {
    let list = StatusList::from_json(&json!({"bits": 1, "lst": EX1_LST})).unwrap();
    let jwt = list
        .sign_jwt(
            &StatusListClaims {
                uri: SUB,
                issued_at: IAT,
                expires_at: Some(EXP),
                ttl: Some(TTL),
            },
            &[],
            &example_signing_key(),
        )
        .unwrap();
    let jws = Jws::parse(&jwt).unwrap();
    assert_eq!(jws.typ(), Some("statuslist+jwt"));
    assert_eq!(jws.header.get("alg"), Some(&json!("ES256")));
    let spec: Value = serde_json::from_str(JWT_EXAMPLE_CLAIMS).unwrap();
    assert_eq!(Value::Object(jws.payload), spec);
    let back = StatusList::from_jwt(&jwt, SUB, IssuerKey::Key(&example_point()), IAT + 1).unwrap();
    assert_eq!(back, list);
}
