// Our ISO/IEC 18013-5 DeviceResponses checked by an implementation we did not write: Auth0's
// @auth0/mdl Verifier (issuer signature and certificate chain to the IACA, MSO validity, every
// disclosed element's digest, the device signature or device MAC over DeviceAuthentication).
//
// `eid serve --dev` issues the MSOs at a wallet's sync (document signer under the backend's
// IACA); `eid wallet mdoc present --tcp` answers `eid mdoc read ... --save-response DIR`, which
// keeps the DeviceResponse, the SessionTranscriptBytes and its ephemeral key; the IACA comes
// from the backend's trust list. Then: signed and MACed responses pass every check and show
// the same values our reader printed; one changed byte of a disclosed value fails the digest.
//
//   EID_BIN   the `eid` binary (default: ../../target/debug/eid)
//
// Run: scripts/interop-mdoc.sh (installs the pinned npm packages when missing).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Verifier } = require('@auth0/mdl');

const EID = process.env.EID_BIN || path.resolve(__dirname, '../../target/debug/eid');
const PASSCODE = '112233';
const PHOTO_ID = 'org.iso.23220.photoid.1';
const PHOTO_ID_NS = 'org.iso.23220.1';
const ELEMENTS = ['family_name', 'given_name', 'birth_date', 'age_over_18'];
const CASE_TIMEOUT_MS = 30_000;

const { cleanEnv, eidProcesses } = require('../eid-process.js');

const { children, eid, start, stopChildren } = eidProcesses(EID, CASE_TIMEOUT_MS);
let tmp;
let backend;
let iacaPem;

function walletArgs() {
  return ['wallet', '--data-dir', path.join(tmp, 'wallet'), '--backend', backend];
}

/**
 * One `eid wallet mdoc present --tcp` answered by one `eid mdoc read --save-response`: the
 * reader's JSON verdict and the saved session's files.
 */
async function presentAndRead(name, presentArgs, elements = ELEMENTS) {
  const holder = spawn(EID, [...walletArgs(), 'mdoc', 'present', '--tcp', '127.0.0.1:0', ...presentArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv({ EID_PASSCODE: PASSCODE }),
  });
  children.push(holder);
  const ended = new Promise((resolve) => holder.on('exit', resolve));
  const [uri, addr] = await new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`holder did not engage: ${err}`)), CASE_TIMEOUT_MS);
    const ready = () => {
      const u = out.match(/^(mdoc:\S+)\r?\n/m);
      const a = err.match(/^listening on (\S+)\r?\n/m);
      if (u && a) {
        clearTimeout(timer);
        resolve([u[1], a[1]]);
      }
    };
    holder.stdout.on('data', (d) => { out += d; ready(); });
    holder.stderr.on('data', (d) => { err += d; ready(); });
  });
  const dir = path.join(tmp, name);
  const verdict = JSON.parse(await eid([
    'mdoc', 'read', '--dev', '--engagement', uri, '--tcp', addr, '--elements', elements.join(','),
    '--trust', path.join(tmp, 'iaca.pem'), '--save-response', dir, '--json',
  ]));
  assert.equal(await ended, 0, 'the holder ends by itself');
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return {
    verdict,
    response: read('device-response.cbor'),
    transcript: read('session-transcript.cbor'),
    readerKey: read('e-reader-key.cose'),
  };
}

/** Auth0's verdict: the parsed response and every check that failed (none thrown). */
async function auth0(session) {
  const failed = [];
  const verifier = new Verifier([iacaPem]);
  const dr = await verifier.verify(session.response, {
    encodedSessionTranscript: session.transcript,
    ephemeralReaderKey: session.readerKey,
    onCheck: (v) => { if (v.status === 'FAILED') failed.push(`${v.check}${v.reason ? `: ${v.reason}` : ''}`); },
  });
  return { dr, failed };
}

function disclosed(dr) {
  assert.equal(dr.documents.length, 1);
  const doc = dr.documents[0];
  assert.equal(doc.docType, PHOTO_ID);
  return doc.getIssuerNameSpace(PHOTO_ID_NS);
}

before(async () => {
  assert.ok(fs.existsSync(EID), `no eid binary at ${EID} (cargo build -p eid-cli)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eid-mdoc-interop-'));
  backend = await start(['serve', '--dev', '--addr', '127.0.0.1:0', '--db', `sqlite://${path.join(tmp, 'backend.db')}`]);
  const citizens = JSON.parse(await eid(['fixtures', 'citizens', '--json']));
  await eid([...walletArgs(), 'activate', '--id', citizens[2].id, '--phone', citizens[2].phone, '--sim'],
    { EID_PASSCODE: PASSCODE });
  // The trust anchor as a verifier would take it: the IACA of the backend's published list.
  const list = await (await fetch(`${backend}/v1/trust-list`)).json();
  assert.ok(list.iaca.length >= 1, 'the trust list names an IACA');
  const der = Buffer.from(list.iaca[0], 'base64url');
  const b64 = der.toString('base64').match(/.{1,64}/g).join('\n');
  iacaPem = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  fs.writeFileSync(path.join(tmp, 'iaca.pem'), iacaPem);
}, { timeout: 2 * CASE_TIMEOUT_MS });

after(() => {
  stopChildren();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a device-signed PhotoID response passes every check of @auth0/mdl', { timeout: CASE_TIMEOUT_MS }, async () => {
  const s = await presentAndRead('signed', []);
  assert.equal(s.verdict.valid, true, JSON.stringify(s.verdict));
  assert.equal(s.verdict.device_mac, false);
  const { dr, failed } = await auth0(s);
  assert.deepEqual(failed, []);
  const values = disclosed(dr);
  assert.deepEqual(Object.keys(values).sort(), [...ELEMENTS].sort());
  // The same values our reader printed.
  assert.equal(values.family_name, s.verdict.elements.family_name);
  assert.equal(values.given_name, s.verdict.elements.given_name);
  assert.equal(values.age_over_18, s.verdict.elements.age_over_18);
  assert.ok(dr.documents[0].deviceSigned.deviceAuth.deviceSignature, 'a device signature');
});

test('a device-MACed response passes with the reader\'s ephemeral key, and only with it', { timeout: CASE_TIMEOUT_MS }, async () => {
  const s = await presentAndRead('mac', ['--device-mac']);
  assert.equal(s.verdict.valid, true, JSON.stringify(s.verdict));
  assert.equal(s.verdict.device_mac, true);
  const { dr, failed } = await auth0(s);
  assert.deepEqual(failed, []);
  assert.ok(dr.documents[0].deviceSigned.deviceAuth.deviceMac, 'a device MAC');
  // Another session's transcript: the MAC no longer verifies.
  const other = await presentAndRead('other', ['--device-mac']);
  const swapped = await auth0({ ...s, transcript: other.transcript });
  assert.ok(swapped.failed.some((f) => f.startsWith('Device MAC must be valid')), swapped.failed.join('\n'));
});

test('a Document naming an element it does not return (ErrorCode 0) passes every check', { timeout: CASE_TIMEOUT_MS }, async () => {
  // The PhotoID holds no eye colour: our holder names it in the Document's `errors`.
  const s = await presentAndRead('not-returned', [], [...ELEMENTS, 'eye_colour']);
  assert.equal(s.verdict.valid, true, JSON.stringify(s.verdict));
  assert.deepEqual(s.verdict.not_returned, ['eye_colour']);
  const { dr, failed } = await auth0(s);
  assert.deepEqual(failed, []);
  assert.deepEqual(Object.keys(disclosed(dr)).sort(), [...ELEMENTS].sort());
});

test('one changed byte of a disclosed value fails its digest', { timeout: CASE_TIMEOUT_MS }, async () => {
  const s = await presentAndRead('tampered', []);
  const name = Buffer.from(s.verdict.elements.family_name, 'utf8');
  const at = s.response.indexOf(name);
  assert.ok(at > 0, 'the family name is in the response');
  const tampered = Buffer.from(s.response);
  tampered[at] ^= 0x01;
  const { failed } = await auth0({ ...s, response: tampered });
  assert.ok(
    failed.some((f) => f.includes(`${PHOTO_ID_NS}/family_name attribute must match the digest`)),
    failed.join('\n'),
  );
});
