//! ISO/IEC 18013-5 presentations over the simulated BLE link (eid_fixtures::ble_sim): both
//! modes, several MTUs, link-level loss, a disconnect in the middle of the response, the wrong
//! reader's Ident, a response with a portrait, and the modelled time of the airport request.
#![allow(clippy::unwrap_used)]

use eid_core::mdoc::transport::ble::{BleError, BleMode};
use eid_core::mdoc::{Decision, ReaderOutcome, STATUS_SESSION_TERMINATION};
use eid_fixtures::ble_sim::{SimConfig, run_presentation};
use eid_fixtures::mdoc::{MDL, MdocFixtures, NOW, request_presets};

const MODES: [BleMode; 2] = [BleMode::PeripheralServer, BleMode::CentralClient];

fn preset(name: &str) -> eid_core::mdoc::ItemsRequest {
    request_presets()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}

#[test]
fn every_preset_in_both_modes_and_at_every_mtu() {
    let mut f = MdocFixtures::new().unwrap();
    for mode in MODES {
        for mtu in [23, 185, 515] {
            for (name, items) in request_presets() {
                let cfg = SimConfig {
                    mtu,
                    ..SimConfig::default()
                };
                let run = run_presentation(
                    &mut f,
                    mode,
                    cfg,
                    std::slice::from_ref(&items),
                    Decision::Accept,
                    false,
                    NOW,
                )
                .unwrap();
                let Ok(ReaderOutcome::Response(Ok(docs))) = &run.reader else {
                    panic!("{mode:?} {mtu} {name}: {:?}", run.reader)
                };
                assert_eq!(docs[0].elements.len(), items.elements.len());
                assert_eq!(docs[0].doc_type, items.doc_type, "{name}");
                assert!(run.holder_finished, "State end reached the holder");
                // Every value fit MTU - 3 (the link refuses larger ones), and the count is
                // what the chunking gives.
                let per = mtu - 4;
                let expected =
                    1 + run.request_bytes.div_ceil(per) + run.response_bytes.div_ceil(per) + 1;
                assert_eq!(run.stats.values, expected, "{mode:?} {mtu} {name}");
            }
        }
    }
}

#[test]
fn a_licence_with_its_portrait_crosses_a_minimal_mtu() {
    let mut f = MdocFixtures::new().unwrap();
    let items = preset("licence");
    assert!(items.elements.iter().any(|e| e.identifier == "portrait"));
    let cfg = SimConfig {
        mtu: 23,
        ..SimConfig::default()
    };
    let run = run_presentation(
        &mut f,
        BleMode::PeripheralServer,
        cfg,
        &[items],
        Decision::Accept,
        false,
        NOW,
    )
    .unwrap();
    let Ok(ReaderOutcome::Response(Ok(docs))) = &run.reader else {
        panic!("{:?}", run.reader)
    };
    assert_eq!(docs[0].doc_type, MDL);
    assert!(run.response_bytes > 2000, "{} bytes", run.response_bytes);
    assert!(run.stats.values > 100);
}

#[test]
fn lost_packets_are_retransmitted_and_a_dead_link_is_a_clear_error() {
    let mut f = MdocFixtures::new().unwrap();
    let lossy = SimConfig {
        loss_per_mille: 150,
        ..SimConfig::default()
    };
    for mode in MODES {
        let run = run_presentation(
            &mut f,
            mode,
            lossy,
            &[preset("hotel")],
            Decision::Accept,
            false,
            NOW,
        )
        .unwrap();
        assert!(
            matches!(run.reader, Ok(ReaderOutcome::Response(Ok(_)))),
            "{:?}",
            run.reader
        );
        assert!(run.stats.retransmissions > 0);
    }
    let dead = SimConfig {
        loss_per_mille: 1000,
        ..SimConfig::default()
    };
    let run = run_presentation(
        &mut f,
        BleMode::PeripheralServer,
        dead,
        &[preset("age")],
        Decision::Accept,
        false,
        NOW,
    )
    .unwrap();
    assert_eq!(
        run.reader,
        Err(BleError::Disconnected { mid_message: false })
    );
}

#[test]
fn a_disconnect_in_the_middle_of_the_response_accepts_nothing() {
    let mut f = MdocFixtures::new().unwrap();
    for mode in MODES {
        let cfg = SimConfig {
            mtu: 23,
            ..SimConfig::default()
        };
        let full = run_presentation(
            &mut f,
            mode,
            cfg,
            &[preset("airport")],
            Decision::Accept,
            false,
            NOW,
        )
        .unwrap();
        let request_values = 1 + full.request_bytes.div_ceil(19);
        let cut = SimConfig {
            disconnect_after_values: Some(request_values + 5),
            ..cfg
        };
        let run = run_presentation(
            &mut f,
            mode,
            cut,
            &[preset("airport")],
            Decision::Accept,
            false,
            NOW,
        )
        .unwrap();
        assert_eq!(
            run.reader,
            Err(BleError::Disconnected { mid_message: true }),
            "{mode:?}"
        );
        // Cut right after the request: the reader had nothing of the response.
        let early = SimConfig {
            disconnect_after_values: Some(request_values),
            ..cfg
        };
        let run = run_presentation(
            &mut f,
            mode,
            early,
            &[preset("airport")],
            Decision::Accept,
            false,
            NOW,
        )
        .unwrap();
        assert_eq!(
            run.reader,
            Err(BleError::Disconnected { mid_message: false }),
            "{mode:?}"
        );
    }
}

#[test]
fn the_holder_refuses_a_reader_with_the_wrong_ident() {
    let mut f = MdocFixtures::new().unwrap();
    let run = run_presentation(
        &mut f,
        BleMode::CentralClient,
        SimConfig::default(),
        &[preset("age")],
        Decision::Accept,
        true,
        NOW,
    )
    .unwrap();
    assert_eq!(run.reader, Err(BleError::IdentMismatch));
    assert_eq!(run.stats.values, 0, "nothing was sent to the wrong reader");
}

#[test]
fn decline_over_ble_and_airport_time_within_target() {
    let mut f = MdocFixtures::new().unwrap();
    let run = run_presentation(
        &mut f,
        BleMode::PeripheralServer,
        SimConfig::default(),
        &[preset("airport")],
        Decision::Decline,
        false,
        NOW,
    )
    .unwrap();
    assert_eq!(
        run.reader,
        Ok(ReaderOutcome::Ended {
            status: STATUS_SESSION_TERMINATION
        })
    );
    let run = run_presentation(
        &mut f,
        BleMode::PeripheralServer,
        SimConfig::default(),
        &[preset("airport")],
        Decision::Accept,
        false,
        NOW,
    )
    .unwrap();
    assert!(
        run.stats.seconds <= 0.3,
        "airport over BLE: {} s",
        run.stats.seconds
    );
}
