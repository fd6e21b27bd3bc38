//! The mdoc's side of NFC negotiated handover (ISO/IEC 18013-5 §8.2.2.1 over NFC Forum TNEP 1.0,
//! single response mode): the NDEF file first offers the Connection Handover service; the reader
//! writes a Service Select (answered by a TNEP Status), then its Handover Request (answered by
//! the mdoc's Handover Select, which names the one carrier chosen: the first of the mdoc's that
//! the reader offers too; a BLE carrier in the modes both take, with the reader's UUID). The reader writes by UPDATE
//! BINARY (Type 4 Tag 1.2 §7.5.5: NLEN 0, the message, then NLEN, or all in one command); the
//! answer replaces the NDEF file's content for the reader to read.

use super::carrier::Carrier;
use super::ndef::{
    HANDOVER_SERVICE, HandoverService, handover_select, handover_service_offer, ndef_file,
    nfc_handover, request_carriers, selected_service, tnep_status_message,
};
use crate::mdoc::engagement::DeviceEngagement;
use ciborium::Value;

/// What the mdoc offers: no wait (it answers at once), the largest message it takes.
pub const SERVICE: HandoverService = HandoverService {
    wt_int: 0,
    n_wait: 0,
    max_ndef_size: MAX_MESSAGE as u16,
};
/// The largest NDEF message the reader may write (a Handover Request is about 50 bytes).
const MAX_MESSAGE: usize = 1024;
/// TNEP status "protocol error".
const STATUS_PROTOCOL_ERROR: u8 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ServiceSelect,
    Request,
    Done,
}

/// What a write did.
#[derive(Debug, PartialEq)]
pub enum Written {
    /// Part of a message (or NLEN 0): nothing to answer yet.
    Partial,
    /// A whole message came in: the NDEF file's new content (NLEN + message), and, when it was
    /// the Handover Request, the SessionTranscript's handover `[HandoverSelect, HandoverRequest]`
    /// with the carrier chosen.
    Answer {
        file: Vec<u8>,
        handover: Option<(Value, Carrier)>,
    },
    /// A write out of place or too long, or a message out of turn: refused.
    Refused,
}

/// The negotiation of one engagement.
#[derive(Debug)]
pub struct NegotiatedHandover {
    step: Step,
    engagement: DeviceEngagement,
    /// The carriers the mdoc takes, its preference first.
    offered: Vec<Carrier>,
    /// The file as the reader writes it (NLEN + message).
    written: Vec<u8>,
}

impl NegotiatedHandover {
    pub fn new(engagement: DeviceEngagement, offered: Vec<Carrier>) -> NegotiatedHandover {
        NegotiatedHandover {
            step: Step::ServiceSelect,
            engagement,
            offered,
            written: Vec::new(),
        }
    }

    /// Back to the start (the service offer), as after a field reset.
    pub fn restart(&mut self) {
        self.step = Step::ServiceSelect;
        self.written.clear();
    }

    /// The NDEF file before the reader writes: the service offer.
    pub fn initial_file() -> Vec<u8> {
        ndef_file(&handover_service_offer(SERVICE))
    }

    /// The NDEF file's size as the capability container announces it.
    pub const MAX_FILE: usize = MAX_MESSAGE + 2;

    /// One UPDATE BINARY of `data` at `offset` in the NDEF file.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Written {
        let Some(end) = offset
            .checked_add(data.len())
            .filter(|&e| e <= Self::MAX_FILE)
        else {
            return Written::Refused;
        };
        if self.written.len() < end {
            self.written.resize(end, 0);
        }
        self.written[offset..end].copy_from_slice(data);
        let nlen = match self.written.get(..2) {
            Some([h, l]) => usize::from(u16::from_be_bytes([*h, *l])),
            _ => return Written::Partial,
        };
        // NLEN 0 starts a message; a message is whole once its NLEN is written over it.
        if nlen == 0 || offset != 0 || self.written.len() < 2 + nlen {
            return Written::Partial;
        }
        let message = std::mem::take(&mut self.written)[2..2 + nlen].to_vec();
        self.receive(&message)
    }

    fn receive(&mut self, message: &[u8]) -> Written {
        match self.step {
            Step::ServiceSelect => {
                let status = if selected_service(message).as_deref() == Some(HANDOVER_SERVICE) {
                    self.step = Step::Request;
                    0x00
                } else {
                    STATUS_PROTOCOL_ERROR
                };
                Written::Answer {
                    file: ndef_file(&tnep_status_message(status)),
                    handover: None,
                }
            }
            Step::Request => {
                let Some(chosen) = request_carriers(message).and_then(|r| self.choose(&r)) else {
                    return Written::Refused;
                };
                self.step = Step::Done;
                let select = handover_select(&self.engagement, &[chosen]);
                Written::Answer {
                    file: ndef_file(&select),
                    handover: Some((nfc_handover(&select, Some(message)), chosen)),
                }
            }
            Step::Done => Written::Refused,
        }
    }

    /// The first of the mdoc's carriers that the reader offers too.
    fn choose(&self, requested: &[Carrier]) -> Option<Carrier> {
        self.offered.iter().find_map(|mine| {
            requested.iter().find_map(|theirs| match (mine, theirs) {
                (Carrier::Nfc(limits), Carrier::Nfc(_)) => Some(Carrier::Nfc(*limits)),
                // The reader's UUID first: it scans for it or advertises it.
                (Carrier::Ble(m), Carrier::Ble(t)) => t.common(m).map(Carrier::Ble),
                _ => None,
            })
        })
    }
}
