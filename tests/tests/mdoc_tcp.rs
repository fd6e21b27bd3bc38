//! ISO/IEC 18013-5 over the TCP stand-in for BLE (eid_core::mdoc::transport::tcp), every preset
//! (PhotoID and mDL) with a reader-authenticated request: the holder listens on a socket in one
//! thread (`serve_holder`), the reader connects from another (`run_reader`), as the CLI's two
//! processes do.
#![allow(clippy::unwrap_used)]

use ciborium::Value;
use eid_core::mdoc::transport::ble::{BleEndpoint, BleMode, BleRole, retrieval_method};
use eid_core::mdoc::transport::gatt_session::{run_reader, serve_holder};
use eid_core::mdoc::transport::tcp::TcpGatt;
use eid_core::mdoc::{
    Decision, DeviceEngagement, HolderPolicy, HolderSession, PresentationRequest, ReaderOutcome,
    ReaderSession, ReaderSigner, ephemeral_key,
};
use eid_fixtures::mdoc::{MdocFixtures, NOW, request_presets};
use std::net::{TcpListener, TcpStream};

#[test]
fn every_preset_over_tcp_between_two_threads() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let cas = f.reader.cas().unwrap();
    let mut wallet = f.wallet;
    for (name, items) in request_presets() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (key, _) = ephemeral_key(&mut eid_crypto::OsRng).unwrap();
        let mut session =
            HolderSession::qr(key, vec![retrieval_method(Some([3; 16]), None)]).unwrap();
        let uri = session.qr_uri();
        let policy = HolderPolicy {
            reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
            reader_crl: None,
            require_reader_auth: true,
            now: NOW,
            device_mac: false,
        };
        let wallet = &mut wallet;
        let outcome = std::thread::scope(|s| {
            let holder = s.spawn(move || {
                let (stream, _) = listener.accept().unwrap();
                let mut link = TcpGatt::new(stream);
                let ep = BleEndpoint::new(
                    BleMode::PeripheralServer,
                    BleRole::Holder,
                    session.e_device_key_bytes(),
                );
                let mut consent = |_: &PresentationRequest| Decision::Accept;
                let out = serve_holder(&mut link, ep, &mut session, &policy, wallet, &mut consent)
                    .unwrap();
                (out, session.is_finished())
            });
            let engagement = DeviceEngagement::from_uri(&uri).unwrap();
            let key_bytes = engagement.e_device_key_bytes.clone();
            let (rk, _) = ephemeral_key(&mut eid_crypto::OsRng).unwrap();
            let mut reader = ReaderSession::new(rk, engagement, Value::Null).unwrap();
            let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
            let est = reader
                .establish(
                    std::slice::from_ref(&items),
                    Some(ReaderSigner {
                        certificate: &f.reader.certificate,
                        sign: &mut sign,
                    }),
                )
                .unwrap();
            let mut link = TcpGatt::new(TcpStream::connect(addr).unwrap());
            let ep = BleEndpoint::new(BleMode::PeripheralServer, BleRole::Reader, &key_bytes);
            let got = run_reader(&mut link, ep, &mut reader, &est, &iacas, NOW).unwrap();
            let (h, finished) = holder.join().unwrap();
            assert!(finished, "{name}: the holder saw State end");
            assert_eq!(h.decision, Some(Decision::Accept));
            assert!(h.request.unwrap().reader.is_some());
            got
        });
        let ReaderOutcome::Response(Ok(docs)) = outcome else {
            panic!("{name}: {outcome:?}")
        };
        assert_eq!(docs[0].doc_type, items.doc_type, "{name}");
        assert_eq!(docs[0].elements.len(), items.elements.len(), "{name}");
    }
}
