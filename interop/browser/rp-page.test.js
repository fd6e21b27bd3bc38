// The reference relying party's page (`eid rp serve`, a bank's "open an account") in a real
// browser: headless Debian Chromium driven by playwright-core (docs/adr/0041). The page's QR is
// read off a screenshot and must equal its `data-openid4vp-uri`; that text goes to
// `eid wallet ... authorize`, as a phone's camera would hand it over; the page must then show
// what the wallet sent, verified by the bank's server, or the refusal.
//
//   EID_BIN   the `eid` binary (default: ../../target/debug/eid)
//   CHROMIUM  the browser (default: /usr/bin/chromium, Debian's package)
//   EID_BROWSER_SHOT=FILE.png  keeps a screenshot of the verified page
//
// Run: scripts/browser-test.sh (installs what is missing), or `npm test` here.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { PNG } = require('pngjs');
const jsQR = require('jsqr');
const { eidProcesses } = require('../eid-process.js');

const EID = process.env.EID_BIN || path.resolve(__dirname, '../../target/debug/eid');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSCODE = '112233';
const BANK_DNS = 'bank.example.vn';
/** Every case's bound: setup and each case finish well within it, or fail. */
const CASE_TIMEOUT_MS = 30_000;
/** `eid` runs and servers; every server is stopped when the test ends (also on `timeout`'s SIGTERM). */
const { children, eid, start, stopChildren } = eidProcesses(EID, CASE_TIMEOUT_MS);

let tmp;
let backend;
let bankBase;
let impostorBase;
/** The impostor's `eid rp serve` (the last case stops it). */
let impostor;
let browser;
let citizen;

/** `eid wallet` for the test's wallet, with the passcode as its environment gives it. */
function wallet(args) {
  const base = ['wallet', '--data-dir', path.join(tmp, 'wallet'), '--backend', backend];
  return eid([...base, ...args], { EID_PASSCODE: PASSCODE });
}

/** A free loopback port (the RP's response URI is registered before it listens). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A P-256 key pair as the RP's files: PKCS#8 private key, SPKI public key (PEM). */
function keyPair(name) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = path.join(tmp, `${name}.key.pem`);
  const pub = path.join(tmp, `${name}.pub.pem`);
  fs.writeFileSync(key, privateKey, { mode: 0o600 });
  fs.writeFileSync(pub, publicKey);
  return { key, pub };
}

before(async () => {
  assert.ok(fs.existsSync(EID), `no eid binary at ${EID} (cargo build -p eid-cli)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eid-browser-'));
  const adminToken = crypto.randomBytes(16).toString('hex');
  backend = await start([
    'serve', '--dev', '--addr', '127.0.0.1:0',
    '--db', `sqlite://${path.join(tmp, 'backend.db')}`, '--admin-token', adminToken,
  ]);

  // The bank: its own key; the hub's RP CA issues its access certificate for its response URI.
  const bankPort = await freePort();
  bankBase = `http://127.0.0.1:${bankPort}`;
  const bank = keyPair('bank');
  const cert = path.join(tmp, 'bank.cert.pem');
  await eid([
    'rp', '--backend', backend, '--admin-token', adminToken, 'register',
    '--name', 'Ngan hang Example', '--registration-number', '0101234567', '--dns', BANK_DNS,
    '--response-uri', `${bankBase}/response`, '--purpose', 'ekyc',
    '--key-pem', bank.pub, '--out-cert', cert,
  ]);
  const rpServe = (addr, key) => ['rp', '--backend', backend, 'serve', '--addr', addr,
    '--key', key, '--cert', cert];
  assert.equal(await start(rpServe(`127.0.0.1:${bankPort}`, bank.key)), bankBase);
  // An impostor: the bank's (public) certificate, but a key of its own.
  impostorBase = await start(rpServe('127.0.0.1:0', keyPair('impostor').key));
  impostor = children[children.length - 1];

  // The citizen's wallet, activated after the registration: its first sync has the registry.
  const citizens = JSON.parse(await eid(['fixtures', 'citizens', '--json']));
  citizen = citizens[1];
  await wallet(['activate', '--id', citizen.id, '--phone', citizen.phone, '--sim']);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox needs unprivileged user namespaces and refuses to start as root; CI
    // runs as root in a container. The page is our own, on loopback: no sandbox there.
    args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
  });
}, { timeout: 2 * CASE_TIMEOUT_MS });

after(async () => {
  if (browser) await browser.close();
  stopChildren();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Opens the page at `base` and returns it with its QR text as the DOM gives it. */
async function openPage(base) {
  const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
  page.setDefaultTimeout(CASE_TIMEOUT_MS / 2);
  await page.goto(`${base}/`);
  const qr = page.locator('#qr svg');
  assert.ok(await qr.isVisible(), 'the QR is on screen');
  const box = await qr.boundingBox();
  assert.ok(box.width >= 100 && box.height >= 100, `QR of ${box.width}x${box.height} px`);
  const uri = await page.locator('#qr').getAttribute('data-openid4vp-uri');
  assert.equal(await statusOf(page), 'waiting');
  return { page, uri };
}

/** What the page says: its `data-status`. */
function statusOf(page) {
  return page.locator('#status').getAttribute('data-status');
}

/** Waits (bounded) until the page leaves `waiting`, and returns its state. */
async function outcome(page) {
  await page.waitForSelector('#status:not([data-status="waiting"])', { timeout: CASE_TIMEOUT_MS / 2 });
  return statusOf(page);
}

/** The QR as a camera sees it: decoded from a screenshot of the page. */
async function scanScreen(page) {
  const png = PNG.sync.read(await page.screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(code, 'a QR code is found in the screenshot');
  return code.data;
}

test('the citizen consents: the page shows the claims the bank verified', { timeout: CASE_TIMEOUT_MS }, async () => {
  const { page, uri } = await openPage(bankBase);
  assert.match(uri, /^openid4vp:\/\/\?client_id=x509_san_dns%3Abank\.example\.vn&/);
  assert.equal(await scanScreen(page), uri, 'the QR on screen is the request URI');
  assert.equal(await page.locator('#claims dd').count(), 0, 'no claim before the wallet answers');

  const started = Date.now();
  const shown = JSON.parse(await wallet(['authorize', uri, '--json']));
  assert.equal(shown.rp.legal_name, 'Ngan hang Example');
  assert.equal(shown.purpose, 'ekyc');
  assert.equal(shown.sent, true);
  assert.equal(await outcome(page), 'verified');
  console.log(`# authorize -> page shows verified: ${Date.now() - started} ms`);

  assert.equal(await page.locator('#status').textContent(), 'Verified');
  const claims = {};
  for (const dd of await page.locator('#claims dd').all()) {
    claims[await dd.getAttribute('data-claim')] = await dd.textContent();
  }
  // The fixture citizen as the card has them: full name family first, birth date YYMMDD.
  const [family, ...given] = citizen.full_name.split(' ');
  const [yy, mm, dd] = citizen.dob.match(/\d\d/g);
  assert.match(claims.birthdate, new RegExp(`^\\d\\d${yy}-${mm}-${dd}$`));
  assert.deepEqual(claims, {
    family_name: family,
    given_name: given.join(' '),
    birthdate: claims.birthdate,
    personal_administrative_number: citizen.id,
  });
  assert.ok(await page.locator('#claims').getByText('ID number').isVisible());
  assert.ok(!(await page.locator('#qr').isVisible()), 'the spent QR is gone');
  if (process.env.EID_BROWSER_SHOT) await page.screenshot({ path: process.env.EID_BROWSER_SHOT });
  await page.close();
});

test('the citizen declines: the page shows the refusal and no claim', { timeout: CASE_TIMEOUT_MS }, async () => {
  const { page, uri } = await openPage(bankBase);
  assert.equal(await scanScreen(page), uri);
  await wallet(['authorize', uri, '--decline']);
  assert.equal(await outcome(page), 'refused');
  assert.match(await page.locator('#status').textContent(), /^Refused: .*declined/);
  assert.equal(await page.locator('#claims dd').count(), 0);
  assert.ok(!(await page.locator('#claims').textContent()).includes(citizen.id));
  await page.close();
});

test('an impostor page or a tampered QR: the wallet refuses, nothing reaches the page', { timeout: CASE_TIMEOUT_MS }, async () => {
  // The bank's certificate with another key: the request object's signature does not verify.
  const impostor = await openPage(impostorBase);
  await assert.rejects(wallet(['authorize', impostor.uri, '--json']), /signature does not verify/);
  // The bank's genuine page, its QR text changed to name another relying party.
  const genuine = await openPage(bankBase);
  const tampered = genuine.uri.replace('bank.example.vn', 'bank.example.com');
  assert.notEqual(tampered, genuine.uri);
  await assert.rejects(wallet(['authorize', tampered, '--json']), /client_id/);
  // Both pages keep waiting (two polls later), with no claim.
  await genuine.page.waitForTimeout(2_500);
  for (const { page } of [impostor, genuine]) {
    assert.equal(await statusOf(page), 'waiting');
    assert.equal(await page.locator('#claims dd').count(), 0);
    assert.ok(await page.locator('#qr svg').isVisible());
    await page.close();
  }
});

test('the page loses its server: it says so instead of waiting forever', { timeout: CASE_TIMEOUT_MS }, async () => {
  const { page } = await openPage(impostorBase);
  impostor.kill('SIGTERM');
  assert.equal(await outcome(page), 'error');
  assert.match(await page.locator('#status').textContent(), /did not answer/);
  assert.equal(await page.locator('#claims dd').count(), 0);
  await page.close();
});
